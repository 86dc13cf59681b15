// `npm run bench -- --only paced` (issue 19): a billing day of N renewals against the sandbox with
// Stripe's live limit switched on (100 requests/s, 429 beyond), renewd paced at RENEWD_GATEWAY_RATE
// (default: the limit itself, to measure how close the pace gets to it; production defaults keep
// headroom, see config.ts). Reports renewals/s as a ratio of the limit, the 429s received, attempts
// created by 429s (goal 0), reconciliation look-ups (goal 0), the time to the last renewal, and how
// long a customer's request made mid-run waits (goal < 1 s). One process holds the sandbox and W
// workers (--workers W: each its own engine, pace and gateway client, as separate `renewd worker`
// processes would be, coordinating only through the pace's buckets in PostgreSQL); the run is
// verified (every renewal charged once).
import type { Clock } from '../../src/core/clock.ts';
import { Engine } from '../../src/engine/engine.ts';
import { createPace, CUSTOMER_SHARE } from '../../src/engine/pace.ts';
import { createStripeGateway } from '../../src/gateway/stripe.ts';
import type { Gateway } from '../../src/gateway/types.ts';
import { createSandbox } from '../../src/sandbox/server.ts';
import { openPostgres } from '../../src/store/db.ts';
import { STRIPE_LIVE_RATE_LIMIT } from '../../src/config.ts';
import { cusRef, dropDatabase, PREFIX, pmRef, seedDatabase } from '../lib/pg.ts';
import { log, progress } from '../lib/util.ts';
import type { Options } from '../main.ts';

export interface PacedResult {
  n: number;
  limit: number;
  rate: number;
  /** Workers sharing the pace (each its own engine, pace and gateway client). */
  workers: number;
  customerShare: number;
  seconds: number;
  renewalsPerSecond: number;
  /** renewals/s ÷ the gateway's limit. */
  ratioOfLimit: number;
  rateLimited: number;
  attemptsBy429: number;
  lookups: number;
  lastRenewalS: number;
  customerMs: number | null;
  verified: boolean;
}

export async function runPaced(o: Options): Promise<PacedResult> {
  const n = o.quick ? Math.min(o.n, 300) : o.n;
  const limit = o.pacedLimit ?? STRIPE_LIVE_RATE_LIMIT;
  const rate = o.pacedRate ?? limit;
  const workers = Math.max(1, o.workers[0] ?? 1);
  const start = new Date();
  const name = `${PREFIX}_paced`;
  const url = await seedDatabase(name, { due: n, now: start }, 'paced seed');
  const db = openPostgres(url, { max: 10 });
  const sandbox = createSandbox({ rateLimit: { perSecond: limit } });
  try {
    const ids = Array.from({ length: n }, (_, k) => k + 1);
    sandbox.load({ customers: ids.map((i) => ({ id: cusRef(i) })), cards: ids.map((i) => ({ id: pmRef(i, false), customer: cusRef(i), number: '4242424242424242', exp_month: 12, exp_year: 2099 })) });
    // The customer waiting mid-run: a card of their own, saved before the limiter counts.
    sandbox.load({ customers: [{ id: 'cus_paced_customer' }], cards: [{ id: 'pm_paced_customer', customer: 'cus_paced_customer', number: '4242424242424242', exp_month: 12, exp_year: 2099 }] });
    const su = new URL(await sandbox.listen(0, '127.0.0.1'));
    // W workers, each with its own pace (local tokens, its own trips to the shared buckets) and
    // gateway client: together they must keep to the one rate.
    let lookups = 0;
    let done = 0;
    let lastAt = 0;
    const t0 = Date.now();
    // Real time from the seed's "now": a rate-limited attempt comes due again when its wait is over.
    const clock: Clock = { now: () => new Date(start.getTime() + (Date.now() - t0)) };
    const gatewayOf = (pace: ReturnType<typeof createPace>) => {
      const stripe = createStripeGateway({ apiKey: 'sk_test_renewd_bench', host: su.hostname, port: Number(su.port), protocol: 'http', pace });
      const gateway: Gateway = { ...stripe, lookup: (r) => (lookups++, stripe.lookup(r)) };
      return gateway;
    };
    const paces = Array.from({ length: workers }, () => createPace({ db, gateway: 'sandbox', rate }));
    for (const p of paces) await p.start();
    const pace = paces[0]!;
    const stripe = gatewayOf(pace);
    const engines = paces.map((p) => new Engine({ db, gateway: gatewayOf(p), clock, batchSize: Math.max(1, Math.ceil((p.rates.billing * 5) / workers)), concurrency: Math.ceil(64 / workers), onProgress: (k) => {
      done += k;
      lastAt = Date.now();
      progress(`paced: ${done}/${n} renewals, ${(done / ((Date.now() - t0) / 1000)).toFixed(1)}/s, ${sandbox.stats().rate_limited} 429s`);
    } }));
    // Mid-run, a customer's request (the customer lane): how long it waits for its answer.
    let customerMs: number | null = null;
    const expectedS = n / pace.rates.billing;
    const mid = setTimeout(async () => {
      const c0 = performance.now();
      await stripe.charge({ customer_ref: 'cus_paced_customer', payment_method_ref: 'pm_paced_customer', amount: 2900, currency: 'EUR', idempotency_key: `paced_customer_${t0}`, lane: 'customer' });
      customerMs = performance.now() - c0;
    }, (expectedS / 2) * 1000);
    const deadline = t0 + Math.max(60_000, expectedS * 3000);
    for (;;) {
      await Promise.all(engines.map((e) => e.drainParallel(2)));
      const [left] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM subscriptions WHERE period_index = 0`);
      if (left.n === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    clearTimeout(mid);
    while (customerMs === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const seconds = (lastAt - t0) / 1000;
    const [a] = await db.query<{ extra: number; renewed: number }>(
      `SELECT (SELECT count(*) FROM payment_attempts WHERE number > 1)::int AS extra, (SELECT count(*) FROM subscriptions WHERE period_index = 1)::int AS renewed`,
    );
    const charged = sandbox.charges().filter((c) => c.customer !== 'cus_paced_customer');
    const verified = a.renewed === n && charged.length === n && new Set(charged.map((c) => c.idempotency_key)).size === n;
    const r: PacedResult = {
      n,
      limit,
      rate,
      workers,
      customerShare: CUSTOMER_SHARE,
      seconds,
      renewalsPerSecond: n / seconds,
      ratioOfLimit: n / seconds / limit,
      rateLimited: sandbox.stats().rate_limited,
      attemptsBy429: a.extra,
      lookups,
      lastRenewalS: seconds,
      customerMs,
      verified,
    };
    log(`paced: ${n} renewals by ${workers} worker(s) in ${seconds.toFixed(1)} s = ${r.renewalsPerSecond.toFixed(1)}/s (${(r.ratioOfLimit * 100).toFixed(1)} % of ${limit}/s), ${r.rateLimited} 429s, ${r.attemptsBy429} attempts by 429s, ${lookups} look-ups, customer request ${customerMs === null ? 'unanswered' : `${Math.round(customerMs)} ms`}, ${verified ? 'verified' : 'NOT VERIFIED'}`);
    return r;
  } finally {
    await sandbox.close();
    await db.close();
    await dropDatabase(name);
  }
}

export function pacedMarkdown(r: PacedResult): string {
  const ms = r.customerMs === null ? 'no answer' : `${Math.round(r.customerMs)} ms`;
  return [
    `N = ${r.n} renewals, sandbox limiter at ${r.limit} requests/s${r.limit === STRIPE_LIVE_RATE_LIMIT ? " (Stripe's live limit)" : ''}, renewd paced at ${r.rate}/s by ${r.workers} worker${r.workers === 1 ? '' : 's'} sharing the pace (${Math.round(r.customerShare * 100)} % of it kept for customers, lent to the billing day while idle).`,
    '',
    '| measure | value | goal |',
    '|---|---|---|',
    `| renewals/s | ${r.renewalsPerSecond.toFixed(1)} (${r.ratioOfLimit.toFixed(2)} of the limit) | ≥ 0.95 of the limit |`,
    `| 429s received | ${r.rateLimited} | — |`,
    `| attempts created by 429s | ${r.attemptsBy429} | 0 |`,
    `| reconciliation look-ups | ${r.lookups} | 0 |`,
    `| time to the last renewal | ${r.lastRenewalS.toFixed(1)} s | — |`,
    `| a customer's request mid-run | ${ms} | < 1 s |`,
    `| every renewal charged once | ${r.verified ? 'yes' : 'NO'} | yes |`,
    '',
  ].join('\n');
}
