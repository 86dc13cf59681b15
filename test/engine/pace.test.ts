// Issue 19: one gateway rate for the whole installation. Two workers' paces share the buckets in
// PostgreSQL: together they never exceed the rate; a 429 seen by one slows both; the customer lane
// has its own share. Virtual time: the sleeps advance a shared clock, nothing really waits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import { createPace } from '../../src/engine/pace.ts';
import { gatewayQueue, paceBuckets } from '../../src/store/pace.ts';
import { paceView } from '../../src/web/console/dashboard.ts';

for (const engine of ENGINES) {
  describe(`the gateway pace, shared through the database (${engine})`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDatabase(engine);
    });
    after(() => t.drop());

    test('two workers together keep to the billing rate; the customer lane keeps its share', async () => {
      let now = Date.UTC(2026, 11, 1);
      const opts = { db: t.db, gateway: 'shared', rate: 50, now: () => new Date(now), sleep: async (ms: number) => void (now += ms) };
      const a = createPace(opts);
      const b = createPace(opts);
      await a.start();
      await b.start();
      assert.deepEqual(a.rates, { billing: 40, customer: 10 });
      const start = now;
      let n = 0;
      // The two workers take turns asking; each takes its tokens from the same bucket.
      for (let i = 0; i < 200; i++) {
        await (i % 2 ? a : b).acquire('billing');
        n++;
      }
      const seconds = (now - start) / 1000;
      // 40/s of their own, and what customers leave idle beyond half a second of theirs: never
      // more than the whole rate (50/s) plus the buckets' one second.
      assert.ok(n <= 50 * seconds + 50, `${n} billing requests in ${seconds} s, over 50/s`);
      assert.ok(seconds >= (200 - 50) / 50 - 0.1, `200 requests take at least ${(200 - 50) / 50} s at 50/s: ${seconds}`);
      assert.ok(seconds <= (200 / 40) + 0.5, `the idle customer share is used: ${seconds} s`);
      // The customer lane is not behind the billing queue: half a second of its share is kept.
      const before = now;
      for (let i = 0; i < 4; i++) await a.acquire('customer');
      assert.equal(now, before, 'customer requests go at once');
    });

    test('a 429 seen by one worker lowers the rate for both; it is counted', async () => {
      let now = Date.UTC(2026, 11, 2);
      const slowed: number[] = [];
      const opts = { db: t.db, gateway: 'aimd', rate: 100, now: () => new Date(now), sleep: async (ms: number) => void (now += ms), onSlowDown: (r: number) => void slowed.push(r) };
      const a = createPace(opts);
      const b = createPace(opts);
      await a.start();
      await a.rateLimited(1000);
      assert.deepEqual(slowed, [40], 'the billing share (80/s) halved');
      const [bucket] = await paceBuckets(t.db, new Date(now), 'aimd').then((bs) => bs.filter((x) => x.bucket === 'aimd:billing'));
      assert.deepEqual([bucket.rate, bucket.ceiling, bucket.rate_limited], [40, 80, 1]);
      // The other worker now gets 40/s: after the emptied bucket refills, 40 tokens a second.
      now += 1000;
      const start = now;
      for (let i = 0; i < 80; i++) await b.acquire('billing');
      assert.ok((now - start) / 1000 >= 80 / 40 - 1 - 0.1, `${(now - start) / 1000} s`);
    });

    test("the console's panel: the rate now, what is due, the expected end", async () => {
      const q = await gatewayQueue(t.db, new Date());
      assert.deepEqual(q, { due: 0, rate_limited: 0 });
      // Just after the previous test's 429 (at 2026-12-02T00:00:00Z): the rate is still halved.
      const at = new Date('2026-12-02T00:00:03Z');
      const buckets = await paceBuckets(t.db, at, 'aimd');
      assert.deepEqual(buckets.map((b) => b.bucket), ['aimd:billing', 'aimd:customer'], 'only the named gateway');
      const text = String(paceView(buckets, { due: 400, rate_limited: 3 }, at));
      assert.match(text, /Billing rate<\/dt><dd>40\.0 requests\/s \(lowered from 80\.0 after 429s\)/);
      assert.match(text, /400 subscriptions, of which 3 attempts wait for the gateway's rate limit/);
      assert.match(text, /Expected end/);
      assert.match(text, /429s received<\/dt><dd>1, the last/);
      // An hour later with no request since: the row still holds 40, the panel shows the rate the
      // next request gets (climbed back to the ceiling), not the stale one.
      const later = new Date('2026-12-02T01:00:00Z');
      const calm = String(paceView(await paceBuckets(t.db, later, 'aimd'), { due: 0, rate_limited: 0 }, later));
      assert.match(calm, /Billing rate<\/dt><dd>80\.0 requests\/s<\/dd>/);
      assert.doesNotMatch(calm, /lowered/);
      assert.match(calm, /429s received<\/dt><dd>1, the last/, 'the count stays');
    });
  });
}
