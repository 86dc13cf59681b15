// The gateway pace's arithmetic (issue 19): a token bucket with AIMD on 429s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lendSurplus, onRateLimited, paceFloor, reserveTokens, takeTokens, type PaceState } from '../../src/core/pace.ts';

const T = (ms: number) => new Date(Date.UTC(2026, 11, 1) + ms);
const full = (rate: number, tokens = 0): PaceState => ({ rate, ceiling: rate, tokens, updated_at: T(0), last_429_at: null });

test('refills at the rate, holds at most one second of it, grants no more than asked', () => {
  const s = full(20);
  const a = takeTokens(s, T(500), 100);
  assert.equal(a.granted, 10, 'half a second at 20/s');
  const b = takeTokens(a.state, T(10_500), 100);
  assert.equal(b.granted, 20, 'never more than a second of the rate at once');
  const c = takeTokens(b.state, T(10_500), 1);
  assert.equal(c.granted, 0);
  assert.equal(c.waitMs, 50, 'one token every 50 ms');
  assert.equal(takeTokens(c.state, T(10_550), 1).granted, 1);
});

test('a 429 halves the rate (once a second) and empties the bucket; calm brings it back to the ceiling', () => {
  let s = takeTokens(full(80, 0), T(1000), 0).state;
  s = onRateLimited(s, T(1000));
  assert.equal(s.rate, 40);
  assert.ok(s.tokens <= 0);
  assert.equal(onRateLimited(s, T(1500)).rate, 40, 'a second 429 within the second: no second halving');
  s = onRateLimited(s, T(2000));
  assert.equal(s.rate, 20);
  for (let i = 0; i < 10; i++) s = onRateLimited(s, T(3000 + i * 1000));
  assert.equal(s.rate, paceFloor(80), 'never below the floor');
  assert.equal(paceFloor(80), 4);
  // Within five seconds of the last 429 the rate holds; after, it climbs by 4/s (a twentieth of 80).
  const held = takeTokens(s, T(12_000 + 4000), 0).state;
  assert.equal(held.rate, 4);
  const climbing = takeTokens(held, T(12_000 + 5000 + 1000), 0).state;
  assert.ok(climbing.rate > 4 && climbing.rate <= 80);
  const back = takeTokens(climbing, T(200_000), 0).state;
  assert.equal(back.rate, 80, 'back to the ceiling, never above');
});

test('granted over any stretch stays within rate × time + one second of burst', () => {
  let s = full(25);
  let granted = 0;
  for (let ms = 0; ms <= 60_000; ms += 7) {
    const r = takeTokens(s, T(ms), 3);
    s = r.state;
    granted += r.granted;
  }
  assert.ok(granted <= 25 * 60 + 25, `${granted}`);
  assert.ok(granted >= 25 * 60 - 25, `${granted}`);
});

test("the customers' idle share is lent beyond half a second of it, never that half", () => {
  const idle: PaceState = { rate: 20, ceiling: 20, tokens: 20, updated_at: T(0), last_429_at: null };
  const a = lendSurplus(idle, T(0), 100);
  assert.equal(a.granted, 10, 'a full bucket of 20 lends 10, keeps 10');
  assert.equal(lendSurplus(a.state, T(0), 100).granted, 0);
  const later = lendSurplus(a.state, T(250), 100);
  assert.equal(later.granted, 5, 'what flowed in since is lent');
  assert.equal(takeTokens(later.state, T(250), 10).granted, 10, 'a customer still finds half a second');
});

test('reservations: tokens ahead of time with the wait to use them, never more than a second queued', () => {
  const s = full(20);
  const a = reserveTokens(s, T(0), 10);
  assert.deepEqual([a.granted, a.waitMs], [10, 500], 'ten tokens at 20/s: usable in half a second');
  const b = reserveTokens(a.state, T(0), 10);
  assert.deepEqual([b.granted, b.waitMs], [10, 1000]);
  const c = reserveTokens(b.state, T(0), 10);
  assert.deepEqual([c.granted, c.waitMs], [0, 500], 'a second is queued: come back when the chunk fits');
  const d = reserveTokens(c.state, T(500), 10);
  assert.deepEqual([d.granted, d.waitMs], [10, 1000]);
  // Over a minute of chunks, what was usable by any time stays within the rate.
  let st = full(25);
  let usable = 0;
  let t = 0;
  while (t < 60_000) {
    const r = reserveTokens(st, T(t), 2);
    st = r.state;
    t += r.waitMs || 1;
    usable += r.granted;
  }
  assert.ok(usable <= 25 * 61 + 25, `${usable}`);
  assert.ok(usable >= 25 * 59, `${usable}`);
});

test('a token refused: the wait is for the rest of the next token, after any reserved ahead; none when some were granted', () => {
  // Half a token has flowed in at 20/s after 25 ms: the other half comes 25 ms later.
  const half = takeTokens(full(20), T(25), 1);
  assert.deepEqual([half.granted, half.waitMs], [0, 25]);
  // Ten tokens reserved ahead (the bucket at −10): a token is free after those 500 ms and 50 more.
  const queued = takeTokens({ ...full(20), tokens: -10 }, T(0), 1);
  assert.deepEqual([queued.granted, queued.waitMs], [0, 550]);
  // Tokens granted: no wait, however few the bucket keeps.
  const some = takeTokens(full(20), T(500), 100);
  assert.deepEqual([some.granted, some.waitMs], [10, 0]);
});

test('the rate holds for exactly five seconds after the last 429, then climbs by a twentieth of the ceiling per second', () => {
  const after429: PaceState = { rate: 4, ceiling: 80, tokens: 0, updated_at: T(4000), last_429_at: T(0) };
  assert.equal(takeTokens(after429, T(4999), 0).state.rate, 4, 'still within five seconds');
  // At 5 s the calm has begun: one second since the bucket was last updated adds 80 × 0.05 = 4.
  assert.equal(takeTokens(after429, T(5000), 0).state.rate, 8);
  assert.equal(takeTokens(after429, T(6000), 0).state.rate, 12);
});

test("a clock behind the bucket's (another worker's) neither refills it nor moves its time back", () => {
  const s: PaceState = { ...full(20), updated_at: T(1000) };
  const behind = takeTokens(s, T(500), 1);
  assert.deepEqual([behind.granted, behind.state.tokens], [0, 0]);
  assert.equal(behind.state.updated_at.getTime(), T(1000).getTime());
  // Back on time: nothing has flowed in since T(1000).
  assert.equal(takeTokens(behind.state, T(1000), 1).granted, 0);
  assert.equal(takeTokens(behind.state, T(1050), 1).granted, 1);
});

test('a second 429 within the second halves nothing but still empties the bucket', () => {
  const s = onRateLimited(takeTokens(full(40, 0), T(1000), 0).state, T(1000));
  const refilled = takeTokens(s, T(1500), 0).state; // 10 tokens at 20/s
  assert.equal(refilled.tokens, 10);
  const again = onRateLimited(refilled, T(1500));
  assert.deepEqual([again.rate, again.tokens], [20, 0]);
  assert.equal(again.last_429_at!.getTime(), T(1000).getTime(), 'the halving second still counts from the first 429');
  // Reservations made ahead stay owed: the bucket is not raised to 0.
  assert.equal(onRateLimited({ ...refilled, tokens: -5 }, T(1500)).tokens, -5);
});

test('a reservation the bucket already holds is usable at once', () => {
  const r = reserveTokens(full(20, 20), T(0), 10);
  assert.deepEqual([r.granted, r.waitMs, r.state.tokens], [10, 0, 10]);
});
