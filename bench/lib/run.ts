// Runs a group of worker processes in step: all get their parameters, report ready, start on one
// "go", and the group's time is from that "go" to the last "done". Peak RSS of each is sampled.
import { availableParallelism } from 'node:os';
import pg from 'pg';
import { spawnChild, rssOf, cpuOf, progress, bar, fmt, log, machineCpu, postgresCpuByPid, postgresCpuSince, type Child } from './util.ts';

export interface GroupResult {
  n: number;
  ms: number;
  perSecond: number;
  /** Peak RSS (VmHWM) of each process, MB. */
  peakRssMb: number[];
  /** CPU seconds each process used during the timed part. */
  cpuS: number[];
  extra: any[];
  /** CPU seconds the local PostgreSQL server used during the timed part (0 when it runs elsewhere). */
  postgresCpuS: number;
  /** Share of the machine's CPU (all cores) busy during the timed part, 0..1, and the number of cores. */
  machineBusy: number;
  cores: number;
  /** The run cut in tenths of the expected total: how the rate and the CPU per renewal moved as the tables grew. */
  segments: Segment[];
}

/** One tenth of a run (by renewals done): its rate, CPU per renewal and what PostgreSQL's busy sessions waited on. */
export interface Segment {
  from: number;
  to: number;
  seconds: number;
  perSecond: number;
  /** CPU ms per renewal in this segment: the group's processes, the watched ones (sandbox), the local PostgreSQL. */
  workerMs: number;
  watchMs: number;
  postgresMs: number;
  machineBusy: number;
  /** pg_stat_activity sampled every 500 ms: average number of the run database's active sessions per wait event ("CPU": not waiting). */
  waits: Record<string, number>;
}

/** Samples what the run's database sessions are doing (the "profile" of the server side). */
function waitSampler(dbUrl: string | undefined) {
  const counts = new Map<string, number>();
  let samples = 0;
  if (!dbUrl) return { take: () => ({}), stop: async () => {} };
  const c = new pg.Client({ connectionString: dbUrl });
  let busy = false;
  let stopped = false;
  const ready = c.connect().catch(() => (stopped = true));
  const timer = setInterval(async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      await ready;
      const r = await c.query<{ w: string; n: number }>(
        `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w, count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() GROUP BY 1`,
      );
      samples++;
      for (const x of r.rows) counts.set(x.w, (counts.get(x.w) ?? 0) + x.n);
    } catch {
      // a sample lost changes nothing
    } finally {
      busy = false;
    }
  }, 500);
  return {
    /** Average number of sessions per wait event since the last take. */
    take(): Record<string, number> {
      const out = Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round((v / Math.max(1, samples)) * 100) / 100]));
      counts.clear();
      samples = 0;
      return out;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await c.end().catch(() => {});
    },
  };
}

export async function runGroup(opts: {
  module: string;
  count: number;
  params: (i: number) => Record<string, unknown>;
  /** Expected total, for the progress bar (0: unknown). */
  total: number;
  label: string;
  env?: Record<string, string>;
  execArgv?: string[];
  /** Other processes whose CPU use is of interest (sandbox…), sampled alongside. */
  watch?: { name: string; pid: number }[];
  /** The run's database: its sessions' wait events are sampled per segment. */
  dbUrl?: string;
}): Promise<GroupResult & { watchCpuS: Record<string, number> }> {
  const kids: Child[] = [];
  try {
    for (let i = 0; i < opts.count; i++) kids.push(spawnChild(opts.module, [], opts.env ?? {}, opts.execArgv ?? []));
    const counts = kids.map(() => 0);
    kids.forEach((k, i) => k.on('progress', (m) => (counts[i] = m.n)));
    const ready = kids.map((k) => k.next('ready', 120_000));
    kids.forEach((k, i) => k.send({ type: 'params', params: opts.params(i) }));
    await Promise.all(ready);
    const cpu0 = kids.map((k) => cpuOf(k.pid));
    const w0 = (opts.watch ?? []).map((w) => cpuOf(w.pid));
    const pg0 = postgresCpuByPid();
    const m0 = machineCpu();
    const dones = kids.map((k) => k.next('done'));
    const t0 = performance.now();
    for (const k of kids) k.send({ type: 'go' });
    const peak = kids.map(() => 0);
    const segments: Segment[] = [];
    const waits = waitSampler(opts.dbUrl);
    let seg = { n: 0, t: t0, cpu: cpu0.reduce((a, b) => a + b, 0), watch: w0.reduce((a, b) => a + b, 0), pg: postgresCpuByPid(), m: m0 };
    const cutSegment = (n: number) => {
      const t = performance.now();
      const cpu = kids.reduce((a, k) => a + cpuOf(k.pid), 0);
      const watch = (opts.watch ?? []).reduce((a, w) => a + cpuOf(w.pid), 0);
      const m = machineCpu();
      const done = n - seg.n;
      if (done <= 0) return;
      const perRenewal = (s: number) => Math.round(((s * 1000) / done) * 1000) / 1000;
      segments.push({
        from: seg.n,
        to: n,
        seconds: (t - seg.t) / 1000,
        perSecond: (done / (t - seg.t)) * 1000,
        workerMs: perRenewal(cpu - seg.cpu),
        watchMs: perRenewal(watch - seg.watch),
        postgresMs: perRenewal(postgresCpuSince(seg.pg)),
        machineBusy: (m.busy - seg.m.busy) / Math.max(1, m.total - seg.m.total),
        waits: waits.take(),
      });
      const x = segments[segments.length - 1];
      if (opts.total >= 100_000)
        log(
          `${opts.label}: ${fmt(x.from)}–${fmt(x.to)} at ${fmt(x.perSecond)}/s; CPU ms/renewal: workers ${x.workerMs.toFixed(2)}, watched ${x.watchMs.toFixed(2)}, PostgreSQL ${x.postgresMs.toFixed(2)}; machine ${(x.machineBusy * 100).toFixed(0)}% busy; PostgreSQL sessions: ${Object.entries(x.waits).slice(0, 4).map(([k, v]) => `${k} ${v}`).join(', ')}`,
        );
      seg = { n, t, cpu, watch, pg: postgresCpuByPid(), m };
    };
    const timer = setInterval(() => {
      const n = counts.reduce((a, b) => a + b, 0);
      if (opts.total > 0 && n - seg.n >= opts.total / 10) cutSegment(n);
      const s = (performance.now() - t0) / 1000;
      kids.forEach((k, i) => (peak[i] = Math.max(peak[i], rssOf(k.pid).rssMb || 0)));
      progress(`${opts.label}: ${opts.total ? bar(n, opts.total) : ''} ${fmt(n)}${opts.total ? '/' + fmt(opts.total) : ''} ${fmt(n / Math.max(s, 0.001))}/s ${s.toFixed(0)}s`);
    }, 250);
    let results: any[];
    try {
      results = await Promise.all(dones);
    } finally {
      clearInterval(timer);
    }
    const ms = performance.now() - t0;
    if (opts.total > 0) cutSegment(results.reduce((a, r) => a + (r.n ?? 0), 0));
    await waits.stop();
    const cpuS = kids.map((k, i) => cpuOf(k.pid) - cpu0[i]);
    const postgresCpuS = postgresCpuSince(pg0);
    const m1 = machineCpu();
    const machineBusy = (m1.busy - m0.busy) / Math.max(1, m1.total - m0.total);
    const watchCpuS = Object.fromEntries((opts.watch ?? []).map((w, i) => [w.name, cpuOf(w.pid) - w0[i]]));
    const peakRssMb = kids.map((k, i) => Math.max(peak[i], rssOf(k.pid).peakMb || 0));
    const n = results.reduce((a, r) => a + (r.n ?? 0), 0);
    for (const k of kids) k.send({ type: 'exit' });
    await Promise.all(kids.map((k) => Promise.race([k.exited, new Promise((r) => setTimeout(r, 10_000))])));
    return { n, ms, perSecond: (n / ms) * 1000, peakRssMb, cpuS, extra: results, watchCpuS, postgresCpuS, machineBusy, cores: availableParallelism(), segments };
  } finally {
    await Promise.all(kids.map((k) => k.kill()));
  }
}
