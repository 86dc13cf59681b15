// Runs a group of worker processes in step: all get their parameters, report ready, start on one
// "go", and the group's time is from that "go" to the last "done". Peak RSS of each is sampled.
import { availableParallelism } from 'node:os';
import { spawnChild, rssOf, cpuOf, progress, bar, fmt, machineCpu, postgresCpuByPid, postgresCpuSince, type Child } from './util.ts';

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
    const timer = setInterval(() => {
      const n = counts.reduce((a, b) => a + b, 0);
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
    const cpuS = kids.map((k, i) => cpuOf(k.pid) - cpu0[i]);
    const postgresCpuS = postgresCpuSince(pg0);
    const m1 = machineCpu();
    const machineBusy = (m1.busy - m0.busy) / Math.max(1, m1.total - m0.total);
    const watchCpuS = Object.fromEntries((opts.watch ?? []).map((w, i) => [w.name, cpuOf(w.pid) - w0[i]]));
    const peakRssMb = kids.map((k, i) => Math.max(peak[i], rssOf(k.pid).peakMb || 0));
    const n = results.reduce((a, r) => a + (r.n ?? 0), 0);
    for (const k of kids) k.send({ type: 'exit' });
    await Promise.all(kids.map((k) => Promise.race([k.exited, new Promise((r) => setTimeout(r, 10_000))])));
    return { n, ms, perSecond: (n / ms) * 1000, peakRssMb, cpuS, extra: results, watchCpuS, postgresCpuS, machineBusy, cores: availableParallelism() };
  } finally {
    await Promise.all(kids.map((k) => k.kill()));
  }
}
