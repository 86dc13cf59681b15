// Test databases: each call gets a brand-new database, so test files (and people) running at the
// same time never see each other's rows. PostgreSQL: a fresh database on the local server
// (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test is the admin connection).
// PGlite: a fresh in-memory instance, started from a migrated snapshot (see migratedPglite).
import pg from 'pg';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPglite, openPostgres, snapshotPglite, type Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type Engine = 'postgres' | 'pglite';
export const ENGINES: Engine[] = ['pglite', 'postgres'];

export interface TestDb {
  db: Db;
  url: string | null;
  drop(): Promise<void>;
}

export async function createTestDatabase(engine: Engine, opts: { migrate?: boolean; poolMax?: number } = {}): Promise<TestDb> {
  if (engine === 'pglite') {
    const db = opts.migrate === false ? await openPglite() : await openPglite(undefined, { from: await migratedPglite() });
    // Still run: a no-op on the snapshot, and the same path as production's start-up.
    if (opts.migrate !== false) await migrate(db);
    return { db, url: null, drop: () => db.close() };
  }
  const name = `renewd_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = openPostgres(url.toString(), { max: opts.poolMax ?? 10 });
  if (opts.migrate !== false) await migrate(db);
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.close();
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

/**
 * A migrated, empty PGlite database as a tarball. Starting PGlite runs initdb (seconds of WASM);
 * starting it from a snapshot skips that, 3.12 times faster (`npm run bench -- --only test-db`),
 * and most test files open several databases. The snapshot is kept in the temporary directory for the next test processes,
 * under a name that changes with the migrations, the migration runner and PGlite's version, so a
 * changed schema is never served from an old file.
 */
let snapshot: Promise<Blob> | undefined;

/**
 * PGlite's package.json, found where Node finds the package, not at <root>/node_modules: Stryker's
 * sandbox links node_modules in only when it is a directory, not a symlink (as in a git worktree).
 */
async function pgliteManifest(): Promise<Buffer> {
  let dir = path.dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite')));
  for (;;) {
    const text = await readFile(path.join(dir, 'package.json')).catch(() => null);
    if (text && JSON.parse(text.toString()).name === '@electric-sql/pglite') return text;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json of @electric-sql/pglite not found');
    dir = up;
  }
}
function migratedPglite(): Promise<Blob> {
  snapshot ??= (async () => {
    const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');
    const store = path.join(root, 'src/store');
    const h = createHash('sha256');
    h.update(await pgliteManifest());
    h.update(await readFile(path.join(store, 'migrate.ts')));
    for (const f of (await readdir(path.join(store, 'migrations'))).sort()) h.update(f).update(await readFile(path.join(store, 'migrations', f)));
    const file = path.join(tmpdir(), `renewd-test-pglite-${h.digest('hex').slice(0, 16)}.tar`);
    try {
      return new Blob([await readFile(file)]);
    } catch {
      const db = await openPglite();
      await migrate(db);
      const blob = await snapshotPglite(db);
      await db.close();
      // Written aside and renamed: a process reading it never sees half a file.
      const part = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
      await writeFile(part, Buffer.from(await blob.arrayBuffer()));
      await rename(part, file);
      return blob;
    }
  })();
  return snapshot;
}
