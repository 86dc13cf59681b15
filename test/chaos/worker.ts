// A chaos worker: one child process running the engine loop against the shared PostgreSQL and the
// sandbox PSP, the way `renewd worker` does, except that business time comes from the parent over
// IPC (a fixed clock value that only the parent moves). The parent kills it with SIGKILL at random
// moments and starts a new one; SIGTERM stops it gracefully (claimed work runs to its end).
//
// Environment: CHAOS_DATABASE_URL, CHAOS_SANDBOX_URL, CHAOS_NOW (ms), CHAOS_LEASE_MS,
// CHAOS_BATCH, CHAOS_LANES, CHAOS_CONCURRENCY, CHAOS_GATEWAY_TIMEOUT_MS.
import { openPostgres } from '../../src/store/db.ts';
import { createStripeGateway } from '../../src/gateway/stripe.ts';
import { Engine } from '../../src/engine/engine.ts';

export type ToWorker = { type: 'time'; now: number; epoch: number } | { type: 'stop' };
export type FromWorker =
  | { type: 'ready'; pid: number }
  | { type: 'idle'; epoch: number }
  | { type: 'busy'; epoch: number }
  | { type: 'stats'; batches: number; claimed: number; errors: number; lastError: string | null }
  | { type: 'stopped' };

const env = (k: string, d?: string) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`chaos worker: ${k} is required`);
  return v;
};

const send = (m: FromWorker) => {
  if (process.connected) process.send!(m);
};

let nowMs = Number(env('CHAOS_NOW'));
let epoch = 0;
let stopping = false;
const clock = { now: () => new Date(nowMs) };
const sandbox = new URL(env('CHAOS_SANDBOX_URL'));
const lanes = Number(env('CHAOS_LANES', '2'));
const db = openPostgres(env('CHAOS_DATABASE_URL'), { max: lanes + 2 });
const gateway = createStripeGateway({
  apiKey: 'sk_test_renewd_chaos',
  host: sandbox.hostname,
  port: Number(sandbox.port),
  protocol: 'http',
  timeoutMs: Number(env('CHAOS_GATEWAY_TIMEOUT_MS', '1500')),
});
const engine = new Engine({
  db,
  gateway,
  clock,
  batchSize: Number(env('CHAOS_BATCH', '50')),
  concurrency: Number(env('CHAOS_CONCURRENCY', '32')),
  attemptLeaseMs: Number(env('CHAOS_LEASE_MS', '60000')),
});

const stats = { batches: 0, claimed: 0, errors: 0, lastError: null as string | null };
const sleepers = new Set<() => void>();
const wakeAll = () => {
  for (const w of [...sleepers]) w();
};
const nap = (ms: number) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      sleepers.delete(done);
      resolve();
    }
    sleepers.add(done);
  });

process.on('message', (m: ToWorker) => {
  if (m.type === 'time') {
    nowMs = m.now;
    epoch = m.epoch;
    wakeAll();
  } else if (m.type === 'stop') void stop();
});
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());

// Each lane claims batches until none is due; the worker is idle for an epoch when every lane
// found nothing due at that epoch's time.
const idleAt = new Array<number>(lanes).fill(-1);
let reportedIdle = -1;
async function lane(i: number) {
  while (!stopping) {
    const e = epoch;
    let n: number;
    try {
      n = await engine.runBatch();
      stats.batches++;
      stats.claimed += n;
    } catch (err) {
      // PostgreSQL restarting, a connection cut: the transaction rolled back; claimed work is safe.
      stats.errors++;
      stats.lastError = err instanceof Error ? err.message : String(err);
      idleAt[i] = -1;
      if (!stopping) await nap(100);
      continue;
    }
    if (n > 0) {
      idleAt[i] = -1;
      if (reportedIdle !== -1) {
        // Work appeared after this worker said it was idle (an answer made something due at once).
        reportedIdle = -1;
        send({ type: 'busy', epoch: e });
      }
      continue;
    }
    idleAt[i] = e;
    if (idleAt.every((x) => x === e) && e === epoch && reportedIdle !== e) {
      reportedIdle = e;
      send({ type: 'idle', epoch: e });
    }
    if (!stopping && e === epoch) await nap(200);
  }
}

const running = Promise.all(Array.from({ length: lanes }, (_, i) => lane(i)));
const statsTimer = setInterval(() => send({ type: 'stats', ...stats }), 500);

let stopped: Promise<void> | null = null;
function stop() {
  stopped ??= (async () => {
    stopping = true;
    wakeAll();
    await running; // batches already claimed run to their end: their answers are applied
    clearInterval(statsTimer);
    send({ type: 'stats', ...stats });
    await db.close().catch(() => {});
    send({ type: 'stopped' });
    process.exit(0);
  })();
  return stopped;
}

send({ type: 'ready', pid: process.pid });
