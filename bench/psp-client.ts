// The gateway reference ("the gateway limit"): a bare HTTP client charging the sandbox PSP with the
// same number of calls in flight as the engine run it is compared with, no engine and no database.
// Keep-alive connections, one per call in flight; the request is the off-session PaymentIntent
// (confirm=true, off_session=true, Idempotency-Key) renewd's Stripe adapter sends.
import http from 'node:http';
import { onParent, toParent } from './lib/util.ts';

interface Params {
  url: string;
  inflight: number;
  durationMs: number;
  /** This client charges accounts first, first+stride, … (so several clients never share a key). */
  first: number;
  stride: number;
  count: number;
  due: number;
  declineEvery: number;
  runTag: string;
}

const p: Params = (await onParent('params')).params;
const u = new URL(p.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: p.inflight, maxFreeSockets: p.inflight });
let done = 0;
let failed = 0;
let next = p.first;
const statusCounts: Record<string, number> = {};
/** Answers in < 0.5 s, < 1.5 s, < 4 s, more (SYN retries and queueing show here). */
const lat = [0, 0, 0, 0];
let maxMs = 0;
/** Answers that arrived within the timed window (the rate; the tail of calls still in flight is not timed). */
let inWindow = 0;
let until = Infinity;

function charge(i: number, n: number): Promise<void> {
  const decline = p.declineEvery > 0 && i <= p.due && i % p.declineEvery === 0;
  const pm = decline ? `pm_bench_insufficient_funds_${i}` : `pm_bench_ok_${i}`;
  const key = `bench_${p.runTag}_${n}`;
  const body =
    `amount=2900&currency=eur&customer=cus_bench_${i}&payment_method=${pm}&confirm=true&off_session=true` +
    `&description=${encodeURIComponent(`renewd invoice inv_${key}`)}&metadata[renewd_invoice]=inv_${key}&metadata[renewd_attempt]=att_${key}`;
  const t0 = performance.now();
  return new Promise<void>((resolve) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: '/v1/payment_intents',
        method: 'POST',
        agent,
        headers: {
          authorization: 'Bearer sk_test_renewd_bench',
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          'idempotency-key': key,
          'stripe-version': '2026-01-28.clover',
        },
      },
      (res) => {
        statusCounts[res.statusCode ?? 0] = (statusCounts[res.statusCode ?? 0] ?? 0) + 1;
        res.resume();
        res.on('end', () => {
          const ms = performance.now() - t0;
          lat[ms < 500 ? 0 : ms < 1500 ? 1 : ms < 4000 ? 2 : 3]++;
          if (ms > maxMs) maxMs = ms;
          if (res.statusCode === 200 || res.statusCode === 402) {
            done++;
            if (performance.now() <= until) inWindow++;
          }
          else failed++;
          resolve();
        });
      },
    );
    req.on('error', () => {
      failed++;
      resolve();
    });
    req.end(body);
  });
}

let lastDone = 0;
const tick = setInterval(() => toParent({ type: 'progress', n: done }), 250);
const dbg = process.env.BENCH_DEBUG ? setInterval(() => { process.stderr.write(`[psp-client ${process.pid}] ${done - lastDone}/s sockets=${Object.values(agent.sockets).reduce((a, l) => a + (l?.length ?? 0), 0)}\n`); lastDone = done; }, 1000) : null;
toParent({ type: 'ready' });
await onParent('go');
const t0 = performance.now();
until = t0 + p.durationMs;
let n = 0;
await Promise.all(
  Array.from({ length: p.inflight }, async () => {
    while (performance.now() < until) {
      const i = next;
      next += p.stride;
      if (next > p.count) next = p.first;
      await charge(i, ++n);
    }
  }),
);
const ms = performance.now() - t0;
clearInterval(tick);
if (dbg) clearInterval(dbg);
toParent({ type: 'done', n: done, inWindow, windowMs: p.durationMs, ms, failed, statusCounts, latencyBuckets: lat, maxMs });
await onParent('exit');
agent.destroy();
process.exit(0);
