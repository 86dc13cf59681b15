// mapPool: at most `limit` jobs in flight, results in the items' order whatever order the jobs end
// in, and every job settles before a failure is thrown. Jobs are deferred promises the test
// resolves itself: no timers, no sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapPool } from '../../src/lib/pool.ts';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run (a macrotask turn, not a wait for time). */
const settle = () => new Promise<void>((r) => setImmediate(r));

/** Jobs that end when the test says so, counting how many run at once. */
function controlledJobs(n: number) {
  const jobs = Array.from({ length: n }, () => deferred<string>());
  const started: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fn = async (i: number) => {
    started.push(i);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      return await jobs[i].promise;
    } finally {
      inFlight--;
    }
  };
  return { jobs, started, fn, inFlight: () => inFlight, maxInFlight: () => maxInFlight };
}

test('at most `limit` jobs run at once; a finished job makes room for the next', async () => {
  const c = controlledJobs(7);
  const all = mapPool([0, 1, 2, 3, 4, 5, 6], 3, c.fn);
  await settle();
  assert.deepEqual(c.started, [0, 1, 2]);
  c.jobs[1].resolve('b');
  await settle();
  assert.deepEqual(c.started, [0, 1, 2, 3], 'one ended, one more started');
  assert.equal(c.inFlight(), 3);
  // Finish the rest out of order.
  for (const i of [3, 0, 2, 6, 5, 4]) {
    c.jobs[i].resolve(String.fromCharCode(97 + i));
    await settle();
  }
  assert.deepEqual(await all, ['a', 'b', 'c', 'd', 'e', 'f', 'g'], 'results follow the items, not the finishing order');
  assert.equal(c.maxInFlight(), 3);
});

test('fewer items than the limit: all at once; no items: nothing runs', async () => {
  const c = controlledJobs(2);
  const all = mapPool([0, 1], 10, c.fn);
  await settle();
  assert.deepEqual(c.started, [0, 1]);
  c.jobs[0].resolve('x');
  c.jobs[1].resolve('y');
  assert.deepEqual(await all, ['x', 'y']);
  let calls = 0;
  assert.deepEqual(await mapPool([], 4, async () => calls++), []);
  assert.equal(calls, 0);
});

test('a limit below 1 still makes progress, one job at a time', async () => {
  const c = controlledJobs(3);
  const all = mapPool([0, 1, 2], 0, c.fn);
  await settle();
  assert.deepEqual(c.started, [0]);
  for (const i of [0, 1, 2]) {
    c.jobs[i].resolve(String(i));
    await settle();
  }
  assert.deepEqual(await all, ['0', '1', '2']);
  assert.equal(c.maxInFlight(), 1);
});

test('a failing job: the others still run and settle, then the first failure is thrown', async () => {
  const c = controlledJobs(5);
  let done = false;
  const all = mapPool([0, 1, 2, 3, 4], 2, c.fn).finally(() => (done = true));
  const outcome = assert.rejects(all, /first/);
  await settle();
  c.jobs[0].reject(new Error('first'));
  await settle();
  c.jobs[1].reject(new Error('second'));
  await settle();
  assert.deepEqual(c.started, [0, 1, 2, 3], 'failures do not stop the remaining jobs');
  assert.equal(done, false, 'not settled while jobs are in flight');
  for (const i of [2, 3, 4]) {
    c.jobs[i].resolve('ok');
    await settle();
  }
  await outcome;
  assert.equal(done, true);
  assert.deepEqual(c.started, [0, 1, 2, 3, 4]);
  assert.equal(c.inFlight(), 0, 'nothing left running when the failure is thrown');
});
