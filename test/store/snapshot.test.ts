// The tests start every in-memory PGlite database from a migrated snapshot (test/helpers/db.ts).
// A snapshot must be the whole database, and a database started from it its own copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { openPglite, snapshotPglite } from '../../src/store/db.ts';
import { createTestDatabase } from '../helpers/db.ts';

test('a PGlite started from a snapshot has its tables and rows, and writes to it stay its own', async () => {
  const first = await openPglite();
  await first.query('CREATE TABLE t (id int PRIMARY KEY, note text)');
  await first.query(`INSERT INTO t VALUES (1, 'kept')`);
  const snap = await snapshotPglite(first);
  const second = await openPglite(undefined, { from: snap });
  const third = await openPglite(undefined, { from: snap });
  try {
    assert.deepEqual(await second.query('SELECT id, note FROM t'), [{ id: 1, note: 'kept' }]);
    await second.query(`INSERT INTO t VALUES (2, 'second only')`);
    assert.deepEqual(await third.query('SELECT id FROM t ORDER BY id'), [{ id: 1 }]);
    assert.deepEqual(await first.query('SELECT id FROM t ORDER BY id'), [{ id: 1 }]);
  } finally {
    await Promise.all([first.close(), second.close(), third.close()]);
  }
});

test('a test database from the snapshot is migrated and empty; one asked unmigrated has no tables', async () => {
  const migrated = await createTestDatabase('pglite');
  const bare = await createTestDatabase('pglite', { migrate: false });
  try {
    const names = (await migrated.db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).map((r) => r.name);
    const files = (await readdir(new URL('../../src/store/migrations/', import.meta.url))).filter((f) => f.endsWith('.sql')).sort();
    assert.deepEqual(names, files);
    assert.deepEqual(await migrated.db.query('SELECT id FROM accounts'), []);
    assert.deepEqual(await bare.db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`), []);
  } finally {
    await Promise.all([migrated.drop(), bare.drop()]);
  }
});

test('only an in-memory PGlite can be snapshotted', async () => {
  const { db, drop } = await createTestDatabase('postgres', { migrate: false });
  try {
    await assert.rejects(snapshotPglite(db), { message: 'snapshotPglite: not an in-memory PGlite database' });
  } finally {
    await drop();
  }
});
