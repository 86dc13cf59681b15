// The poller on fake timers (it takes its setTimeout/clearTimeout as an option) and ticks that end
// when the test says so: no real waiting. It ticks at start, then intervalMs after each tick ends;
// failures are logged with the loop's name and push the next tick back (doubling, capped, reset on
// success); stop() aborts the tick's signal, waits for it, and schedules nothing more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { backoffDelay, createPoller, type PollerTimers } from '../../src/lib/poller.ts';

/** Timers that only fire when the test fires them; `pending` lists the delays asked for. */
function fakeTimers() {
  let seq = 0;
  const pending = new Map<number, { fn: () => void; ms: number }>();
  const timers: PollerTimers = {
    setTimeout(fn, ms) {
      pending.set(++seq, { fn, ms });
      return seq;
    },
    clearTimeout(h) {
      pending.delete(h as number);
    },
  };
  return {
    timers,
    delays: () => [...pending.values()].map((p) => p.ms),
    /** Fires the one pending timer. */
    fire() {
      assert.equal(pending.size, 1, 'exactly one tick is scheduled');
      const [[id, { fn }]] = pending;
      pending.delete(id);
      fn();
    },
  };
}

/** A pino logger writing JSON lines into an array. */
function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const settle = () => new Promise<void>((r) => setImmediate(r));

test('ticks at start, then intervalMs after each tick has ended; ticks never overlap', async () => {
  const t = fakeTimers();
  let ticks = 0;
  let release: () => void = () => {};
  const p = createPoller({ name: 'test', intervalMs: 1000, timers: t.timers, tick: () => (ticks++, new Promise<void>((r) => (release = r))) });
  p.start();
  assert.deepEqual(t.delays(), [0], 'the first tick is due at once');
  t.fire();
  assert.equal(ticks, 1);
  await settle();
  assert.deepEqual(t.delays(), [], 'nothing is scheduled while a tick runs');
  release();
  await settle();
  assert.deepEqual(t.delays(), [1000]);
  t.fire();
  assert.equal(ticks, 2);
  p.start(); // already polling: no second loop
  release();
  await settle();
  assert.deepEqual(t.delays(), [1000]);
  await p.stop();
});

test('failures are logged with the loop name and back off: doubling, capped, reset by a success', async () => {
  const t = fakeTimers();
  const log = memoryLogger();
  const outcomes = [false, false, false, false, true, false];
  let n = 0;
  const p = createPoller({
    name: 'webhooks',
    intervalMs: 100,
    maxBackoffMs: 500,
    timers: t.timers,
    logger: log.logger,
    tick: async () => {
      if (!outcomes[n++]) throw new Error(`boom ${n}`);
    },
  });
  p.start();
  const delays: number[] = [];
  for (let i = 0; i < outcomes.length; i++) {
    t.fire();
    await settle();
    delays.push(...t.delays());
  }
  assert.deepEqual(delays, [200, 400, 500, 500, 100, 200]);
  assert.equal(log.lines.length, 5, 'one line per failed tick');
  assert.equal(log.lines[0].loop, 'webhooks');
  assert.equal(log.lines[0].level, 50, 'logged as an error');
  assert.equal((log.lines[0].err as { message: string }).message, 'boom 1');
  assert.deepEqual(log.lines.map((l) => l.failures), [1, 2, 3, 4, 1]);
  await p.stop();
  assert.deepEqual(t.delays(), [], 'stop clears the scheduled tick');
});

test('backoffDelay: the interval when healthy, doubled per failure, never above the cap (nor below the interval)', () => {
  assert.equal(backoffDelay(1000, 0, 60_000), 1000);
  assert.equal(backoffDelay(1000, 1, 60_000), 2000);
  assert.equal(backoffDelay(1000, 5, 60_000), 32_000);
  assert.equal(backoffDelay(1000, 6, 60_000), 60_000);
  assert.equal(backoffDelay(1000, 10_000, 60_000), 60_000);
  assert.equal(backoffDelay(120_000, 3, 60_000), 120_000);
});

test('stop() aborts the running tick\'s signal, waits for it to end, and schedules nothing more', async () => {
  const t = fakeTimers();
  let release: () => void = () => {};
  let seen: AbortSignal | null = null;
  const p = createPoller({
    name: 'engine',
    intervalMs: 50,
    timers: t.timers,
    tick: (signal) => {
      seen = signal;
      return new Promise<void>((r) => (release = r));
    },
  });
  p.start();
  t.fire();
  assert.equal(p.polling, true);
  let stopped = false;
  const stopping = p.stop().then(() => (stopped = true));
  await settle();
  assert.equal(seen!.aborted, true, 'the tick is told to stop claiming');
  assert.equal(stopped, false, 'stop waits for the tick in progress');
  assert.equal(p.polling, false);
  release();
  await stopping;
  assert.equal(stopped, true);
  assert.deepEqual(t.delays(), [], 'no tick after stop');
});

test('stop() before the first tick: the tick never runs; start() again polls again', async () => {
  const t = fakeTimers();
  let ticks = 0;
  const p = createPoller({ name: 'mail', intervalMs: 10, timers: t.timers, tick: async () => void ticks++ });
  p.start();
  await p.stop();
  assert.deepEqual(t.delays(), []);
  assert.equal(ticks, 0);
  p.start();
  t.fire();
  await settle();
  assert.equal(ticks, 1);
  assert.deepEqual(t.delays(), [10]);
  await p.stop();
});

test('start() again while the stopped loop\'s tick still runs: that tick schedules nothing, the new loop polls alone', async () => {
  const t = fakeTimers();
  const releases: (() => void)[] = [];
  const p = createPoller({ name: 'engine', intervalMs: 30, timers: t.timers, tick: () => new Promise<void>((r) => releases.push(r)) });
  p.start();
  t.fire();
  const firstStop = p.stop(); // not awaited yet: the first tick is still running
  p.start();
  t.fire(); // the new loop's first tick
  assert.equal(releases.length, 2);
  releases[0]();
  await firstStop;
  await settle();
  assert.deepEqual(t.delays(), [], 'the old loop scheduled nothing; the new tick is still running');
  let stopped = false;
  const secondStop = p.stop().then(() => (stopped = true));
  await settle();
  assert.equal(stopped, false, 'stop waits for the new loop\'s tick');
  releases[1]();
  await secondStop;
  assert.deepEqual(t.delays(), []);
});
