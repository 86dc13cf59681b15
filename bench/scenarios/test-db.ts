// How long the tests wait for a database (`npm run bench -- --only test-db`): an in-memory PGlite
// through initdb and the migrations, against one started from a migrated snapshot, as
// test/helpers/db.ts opens them. Interleaved, one of each per round, so a busy machine slows both alike;
// each figure is the median of the rounds.
import { openPglite } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
// What is measured is the tests' own path, snapshot cache included.
import { createTestDatabase } from '../../test/helpers/db.ts';

export interface TestDbResult {
  rounds: number;
  initdbMs: number;
  snapshotMs: number;
  /** initdb ÷ snapshot: how many times faster a test database opens from the snapshot. */
  ratio: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

export async function runTestDb(o: { runs: number }): Promise<TestDbResult> {
  await (await createTestDatabase('pglite')).drop(); // the snapshot made (or read) once, as a test process does
  const rounds = Math.max(6, o.runs);
  const initdb: number[] = [];
  const snapshot: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    const a = await openPglite();
    await migrate(a);
    initdb.push(performance.now() - t);
    await a.close();
    t = performance.now();
    const b = await createTestDatabase('pglite');
    snapshot.push(performance.now() - t);
    await b.drop();
  }
  const initdbMs = median(initdb);
  const snapshotMs = median(snapshot);
  return { rounds, initdbMs: Math.round(initdbMs), snapshotMs: Math.round(snapshotMs), ratio: Math.round((initdbMs / snapshotMs) * 100) / 100 };
}

export function testDbMarkdown(r: TestDbResult): string {
  return [
    `| in-memory PGlite test database | median of ${r.rounds} (ms) |`,
    '|---|---:|',
    `| initdb + migrations | ${r.initdbMs} |`,
    `| from the migrated snapshot | ${r.snapshotMs} |`,
    '',
    `From the snapshot: **${r.ratio}×** faster.`,
    '',
  ].join('\n');
}
