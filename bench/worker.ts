// One renewal worker process of the billing-day benchmark: the real Engine (claims with
// FOR UPDATE SKIP LOCKED, state machine, batched writes, e-mail outbox, gateway calls through the
// Stripe adapter to the sandbox PSP over HTTP), draining everything due with `lanes` batches in
// flight. Several of these share one PostgreSQL, like `renewd worker` processes do.
import { openPostgres } from '../src/store/db.ts';
import { systemClock } from '../src/core/clock.ts';
import { Engine } from '../src/engine/engine.ts';
import { createStripeGateway } from '../src/gateway/stripe.ts';
import { onParent, toParent } from './lib/util.ts';

interface Params {
  url: string;
  sandboxUrl: string;
  lanes: number;
  batchSize: number;
  concurrency: number;
  poolMax: number;
  /** Sockets to the sandbox; the adapter's default is 256 (renewd's service does not set it). */
  maxSockets?: number;
}

const p: Params = (await onParent('params')).params;
const db = openPostgres(p.url, { max: p.poolMax });
const su = new URL(p.sandboxUrl);
const gateway = createStripeGateway({ apiKey: 'sk_test_renewd_bench', host: su.hostname, port: Number(su.port), protocol: 'http', ...(p.maxSockets ? { maxSockets: p.maxSockets } : {}) });
let done = 0;
const engine = new Engine({
  db,
  gateway,
  clock: systemClock,
  batchSize: p.batchSize,
  concurrency: p.concurrency,
  onProgress: (n) => (done += n),
});
// Warm the pool (connections are part of a worker's start, not of the billing day).
await Promise.all(Array.from({ length: Math.min(p.poolMax, p.lanes * 2) }, () => db.query('SELECT 1')));
const mem0 = process.memoryUsage();
const memPeak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
const tick = setInterval(() => {
  toParent({ type: 'progress', n: done });
  const m = process.memoryUsage();
  for (const k of Object.keys(memPeak) as (keyof typeof memPeak)[]) memPeak[k] = Math.max(memPeak[k], m[k]);
}, 250);
toParent({ type: 'ready' });
await onParent('go');
const t0 = performance.now();
const claimed = await engine.drainParallel(p.lanes);
const ms = performance.now() - t0;
clearInterval(tick);
toParent({ type: 'progress', n: done });
const mb = (x: number) => Math.round(x / 1048576);
toParent({ type: 'done', n: done, claimed, ms, memoryAtStartMb: { rss: mb(mem0.rss), heapUsed: mb(mem0.heapUsed) }, memoryPeakMb: Object.fromEntries(Object.entries(memPeak).map(([k, v]) => [k, mb(v)])) });
await onParent('exit');
await db.close();
process.exit(0);
