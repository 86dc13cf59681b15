// The gateway pace's arithmetic (issue 19): a token bucket with AIMD on 429s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onRateLimited, paceFloor, takeTokens, type PaceState } from '../../src/core/pace.ts';

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
