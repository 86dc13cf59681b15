// One small database interface over both engines: a PostgreSQL server through `pg`, or the
// embedded PGlite (WASM PostgreSQL) in a data directory. Same SQL for both.
import pg from 'pg';
import { lockDataDir } from './data-dir-lock.ts';

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/**
 * What PostgreSQL (server or PGlite, same SQLSTATE codes) refused, read from its error: `code` is the
 * SQLSTATE (23505 unique violation, 40P01 deadlock, 40001 serialization failure, 55P03 lock not
 * available), `constraint` the constraint or unique index named by a violation. Null for any other error.
 */
export interface DbRefusal {
  code: string;
  constraint: string | null;
}

export function dbRefusalOf(err: unknown): DbRefusal | null {
  if (!err || typeof err !== 'object') return null;
  const e = err as { code?: unknown; constraint?: unknown; severity?: unknown };
  // Both drivers give a five-character SQLSTATE and a severity; Node's own errors (ECONNRESET…) do not.
  if (typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code) || typeof e.severity !== 'string') return null;
  return { code: e.code, constraint: typeof e.constraint === 'string' ? e.constraint : null };
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn in one transaction; fn must use the handle it is given, never the Db itself. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// bigint (int8) columns hold money and counts far below 2^53: parse them as numbers.
pg.types.setTypeParser(20, (v) => Number(v));

// Hot statements (one per API request, e.g. the access check) are named prepared statements on a
// PostgreSQL server with a generic plan: parsed and planned once per connection instead of once
// per call. (Left to itself PostgreSQL re-plans a statement whose parameter is an id list on every
// call, which costs more than running it.) They run on a small pool of their own whose sessions
// force generic plans, so no other statement's planning changes. The text is the key, so only
// constant SQL texts may be marked (a bounded set, fixed at load time).
const preparedNames = new Map<string, string>();

/** Connections of the hot statements' pool; callers batching into hot statements keep at most this many in flight. */
export const HOT_POOL_MAX = 4;

/** Marks a constant SQL text as a hot statement and returns it unchanged. */
export function prepared(sql: string): string {
  if (!preparedNames.has(sql)) preparedNames.set(sql, `renewd_hot_${preparedNames.size + 1}`);
  return sql;
}

function pgQuery(sql: string, params?: unknown[]): pg.QueryConfig {
  const name = preparedNames.get(sql);
  return name ? { name, text: sql, values: params } : { text: sql, values: params };
}

export function openPostgres(url: string, opts: { max?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10 });
  // A dropped idle connection (e.g. PostgreSQL restarting) must not crash the process.
  pool.on('error', () => {});
  let hot: pg.Pool | undefined;
  const hotPool = () => {
    if (!hot) {
      hot = new pg.Pool({ connectionString: url, max: HOT_POOL_MAX, options: '-c plan_cache_mode=force_generic_plan' });
      hot.on('error', () => {});
    }
    return hot;
  };
  return {
    kind: 'postgres',
    async query<T>(sql: string, params?: unknown[]) {
      const r = await (preparedNames.has(sql) ? hotPool() : pool).query(pgQuery(sql, params));
      return r.rows as T[];
    },
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      // While checked out, the pool's own listener is off: a connection dropped between two
      // statements (PostgreSQL restarting) would be an unhandled 'error' and crash the process.
      // The failed statement rejects instead, and the broken client is thrown away on release.
      let broken: Error | undefined;
      const onError = (err: Error) => (broken = err);
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const q: Queryable = {
          async query<R>(sql: string, params?: unknown[]) {
            const r = await client.query(pgQuery(sql, params));
            return r.rows as R[];
          },
        };
        const out = await fn(q);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        if (!broken) await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    async close() {
      await Promise.all([pool.end(), hot?.end()]);
    },
  };
}

/** The PGlite behind each in-memory Db, for `snapshotPglite`. */
const pgliteOf = new WeakMap<Db, { dumpDataDir(compression?: 'none'): Promise<Blob> }>();

/**
 * Opens PGlite: in a data directory, or in memory, empty or started from a snapshot of another
 * (`from`, made by `snapshotPglite`). A snapshot skips initdb, most of the start-up time: the tests
 * start every in-memory database from one migrated snapshot.
 */
export async function openPglite(dataDir?: string, opts: { from?: Blob } = {}): Promise<Db> {
  // Loaded on first use: the WASM database costs ~45 MB of memory, which a worker on a
  // PostgreSQL server should not carry.
  const { PGlite } = await import('@electric-sql/pglite');
  // No dataDir: in memory (tests). Otherwise a directory on disk that survives restarts, used by
  // one process at a time (data-dir-lock.ts).
  const release = dataDir ? lockDataDir(dataDir) : () => {};
  let db: InstanceType<typeof PGlite>;
  try {
    db = await PGlite.create(dataDir ? { dataDir } : opts.from ? { loadDataDir: opts.from } : {});
  } catch (err) {
    release();
    throw err;
  }
  const int8 = (v: string) => Number(v);
  const handle: Db = {
    kind: 'pglite',
    async query<T>(sql: string, params?: unknown[]) {
      const r = await db.query<T>(sql, params as unknown[], { parsers: { 20: int8 } });
      return r.rows;
    },
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      return db.transaction(async (t) =>
        fn({
          async query<R>(sql: string, params?: unknown[]) {
            const r = await t.query<R>(sql, params as unknown[], { parsers: { 20: int8 } });
            return r.rows;
          },
        }),
      );
    },
    async close() {
      try {
        await db.close();
      } finally {
        release();
      }
    },
  };
  if (!dataDir) pgliteOf.set(handle, db);
  return handle;
}

/** The whole of an in-memory PGlite database as a tarball, to start others from (`openPglite(undefined, { from })`). */
export async function snapshotPglite(db: Db): Promise<Blob> {
  const raw = pgliteOf.get(db);
  if (!raw) throw new Error('snapshotPglite: not an in-memory PGlite database');
  return raw.dumpDataDir('none');
}

export async function openDb(config: { databaseUrl?: string; dataDir?: string; poolMax?: number }): Promise<Db> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl, { max: config.poolMax });
  return openPglite(config.dataDir);
}
