// Test databases: each call gets a brand-new database, so test files (and people) running at the
// same time never see each other's rows. PostgreSQL: a fresh database on the local server
// (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test is the admin connection).
// PGlite: a fresh in-memory instance.
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { openPglite, openPostgres, type Db } from '../../src/store/db.ts';
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
    const db = await openPglite();
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
