// Billing day: N due subscriptions renewed by 1 and 2 worker processes through the sandbox PSP
// over HTTP (10% declines), at 0 ms and 300 ms gateway latency. Each engine run is compared, in the
// same round, with (a) the bare-SQL harness writing the same rows with the same workers, lanes and
// batch size (the database limit) and (b) a bare client charging the sandbox with the same number
// of calls in flight (the gateway limit). After each engine run the database is checked: every due
// subscription renewed exactly once.
import { createDatabase, dropDatabase, PREFIX, queryDb, seedDatabase, verifyRun, type Verification } from '../lib/pg.ts';
import { runGroup, type Segment } from '../lib/run.ts';
import { log, median, spawnChild, fmt, type Child } from '../lib/util.ts';
import type { Options } from '../main.ts';

export interface BillingConfig {
  latencyMs: number;
  workers: number;
  lanes: number;
  batchSize: number;
  concurrency: number;
}

export interface BillingRun {
  round: number;
  config: BillingConfig;
  engine: { n: number; ms: number; perSecond: number; peakRssMb: number[]; cpuS: number[]; sandboxCpuS: number; memory: unknown[]; postgresCpuS?: number; machineBusy?: number; cores?: number; segments?: Segment[]; tables?: TableStats[] };
  /** The bare-SQL reference; `verification`: did it renew each due row exactly once (older results lack it). */
  sql: { n: number; ms: number; perSecond: number; cpuS: number[]; postgresCpuS?: number; machineBusy?: number; segments?: Segment[]; tables?: TableStats[]; verification?: Verification };
  gateway: { n: number; ms: number; perSecond: number; failed: number; sandboxCpuS: number };
  verification: Verification;
  sandbox: Record<string, unknown>;
  notificationBytes: { text: number; html: number };
}

export interface BillingResult {
  n: number;
  declineEvery: number;
  runs: BillingRun[];
  summary: {
    config: BillingConfig;
    renewalsPerSecond: number;
    sqlPerSecond: number;
    gatewayPerSecond: number;
    vsSql: number;
    vsGateway: number;
    peakWorkerRssMb: number;
    allVerified: boolean;
    /** Time 1,000,000 renewals would take at this rate (s). */
    secondsPerMillion: number;
  }[];
}

/** Engine settings per latency: at 300 ms the gateway calls must overlap (900 in flight per worker covers 3,000 charges/s). */
export function configsFor(o: Options): BillingConfig[] {
  const out: BillingConfig[] = [];
  for (const latencyMs of o.latencies)
    for (const workers of o.workers) {
      out.push(
        latencyMs === 0
          ? { latencyMs, workers, lanes: o.lanes0 ?? 3, batchSize: o.batch0 ?? 200, concurrency: o.concurrency0 ?? o.batch0 ?? 200 }
          : { latencyMs, workers, lanes: o.lanesSlow ?? 3, batchSize: o.batchSlow ?? 300, concurrency: o.concurrencySlow ?? o.batchSlow ?? 300 },
      );
    }
  return out;
}

const DECLINE_EVERY = 10;

export async function startSandbox(latencyMs: number, count: number, due: number, declineEvery: number): Promise<{ child: Child; url: string }> {
  const child = spawnChild('sandbox-host.ts', [], {}, ['--max-old-space-size=8192']);
  const ready = child.next('ready', 300_000);
  child.send({ type: 'params', params: { latencyMs, count, due, declineEvery } });
  const r = await ready;
  return { child, url: r.url };
}

async function sandboxStats(s: Child) {
  const p = s.next('stats', 10_000);
  s.send({ type: 'stats' });
  return (await p).stats;
}

export async function runBilling(o: Options): Promise<BillingResult> {
  const n = o.n;
  const now = new Date();
  const template = `${PREFIX}_billing_tpl`;
  await seedDatabase(template, { due: n, declineEvery: DECLINE_EVERY, now }, 'billing seed');
  const configs = configsFor(o);
  const runs: BillingRun[] = [];
  let copy = 0;
  const fresh = async () => {
    const name = `${PREFIX}_billing_${++copy}`;
    return { name, url: await createDatabase(name, template) };
  };
  for (let round = 1; round <= o.runs; round++) {
    for (const c of configs) {
      const tag = `billing ${round}/${o.runs} ${c.latencyMs}ms ×${c.workers}w`;
      const inflight = c.lanes * Math.min(c.concurrency, c.batchSize);

      // 1. The engine.
      const sb = await startSandbox(c.latencyMs, n, n, DECLINE_EVERY);
      const db = await fresh();
      const eng = await runGroup({
        module: 'worker.ts',
        count: c.workers,
        total: n,
        label: `${tag} engine`,
        params: () => ({ url: db.url, sandboxUrl: sb.url, lanes: c.lanes, batchSize: c.batchSize, concurrency: c.concurrency, poolMax: c.lanes * 2 + 2, maxSockets: o.maxSockets ?? c.lanes * Math.min(c.batchSize, c.concurrency) }),
        execArgv: o.profile ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}/worker-${c.latencyMs}ms-${c.workers}w-r${round}`] : [],
        watch: [{ name: 'sandbox', pid: sb.child.pid }],
        dbUrl: db.url,
      });
      const sbStats = await sandboxStats(sb.child);
      sb.child.send({ type: 'exit' });
      await sb.child.kill();
      const engineTables = await tableStats(db.url);
      const verification = await verifyRun(db.url, n, DECLINE_EVERY, new Date());
      if (sbStats.charges_attempted !== n) verification.problems.push(`the sandbox saw ${sbStats.charges_attempted} charges for ${n} renewals`);
      verification.ok = verification.problems.length === 0;
      const bytes = await notificationBytes(db.url);
      await dropDatabase(db.name);
      if (!verification.ok) log(`!!! ${tag}: VERIFICATION FAILED: ${verification.problems.join('; ')}`);

      // 2. The database limit: same rows, same workers/lanes/batch, no engine.
      const db2 = await fresh();
      const sql = await runGroup({
        module: 'sql-worker.ts',
        count: c.workers,
        total: n,
        label: `${tag} bare SQL`,
        params: () => ({ url: db2.url, lanes: c.lanes, batchSize: c.batchSize, declineEvery: DECLINE_EVERY, textBytes: bytes.text || 800, htmlBytes: bytes.html || 3000 }),
        dbUrl: db2.url,
      });
      const sqlTables = await tableStats(db2.url);
      const v2 = await verifyRun(db2.url, n, DECLINE_EVERY, new Date());
      // The reference is only a reference if it did the same work: a run whose bare-SQL harness did
      // not renew each due row exactly once is recorded and marked failed, not merely logged.
      if (!v2.ok) log(`!!! ${tag}: BARE-SQL REFERENCE VERIFICATION FAILED: ${v2.problems.join('; ')}`);
      await dropDatabase(db2.name);

      // 3. The gateway limit: a bare client, same calls in flight, same processes.
      const sb2 = await startSandbox(c.latencyMs, n, n, DECLINE_EVERY);
      const gw = await runGroup({
        module: 'psp-client.ts',
        count: c.workers,
        total: 0,
        label: `${tag} bare sandbox client`,
        params: (i) => ({
          url: sb2.url,
          inflight,
          durationMs: o.gatewayMs,
          first: i + 1,
          stride: c.workers,
          count: n,
          due: n,
          declineEvery: DECLINE_EVERY,
          runTag: `${round}_${i}`,
        }),
        watch: [{ name: 'sandbox', pid: sb2.child.pid }],
      });
      sb2.child.send({ type: 'exit' });
      await sb2.child.kill();

      const run: BillingRun = {
        round,
        config: c,
        engine: { n: eng.n, ms: eng.ms, perSecond: eng.perSecond, peakRssMb: eng.peakRssMb, cpuS: eng.cpuS, sandboxCpuS: eng.watchCpuS.sandbox, memory: eng.extra.map((x) => ({ atStart: x.memoryAtStartMb, peak: x.memoryPeakMb })), postgresCpuS: eng.postgresCpuS, machineBusy: eng.machineBusy, cores: eng.cores, segments: eng.segments, tables: engineTables },
        sql: { n: sql.n, ms: sql.ms, perSecond: sql.perSecond, cpuS: sql.cpuS, postgresCpuS: sql.postgresCpuS, machineBusy: sql.machineBusy, segments: sql.segments, tables: sqlTables, verification: v2 },
        gateway: { n: gw.n, ms: gw.ms, perSecond: (gw.extra.reduce((a, r) => a + r.inWindow, 0) / o.gatewayMs) * 1000, failed: gw.extra.reduce((a, r) => a + (r.failed ?? 0), 0), sandboxCpuS: gw.watchCpuS.sandbox },
        verification,
        sandbox: sbStats,
        notificationBytes: bytes,
      };
      runs.push(run);
      if (o.verbose) log(JSON.stringify(run.engine.memory));
      const scanned = (ts: TableStats[]) => ts.filter((t) => t.seqRowsRead > n).map((t) => `${t.table} ${t.seqScans} scans/${fmt(t.seqRowsRead)} rows`).join(', ') || 'none';
      log(`${tag}: sequential scans reading more than N rows: engine ${scanned(engineTables)} | bare SQL ${scanned(sqlTables)}`);
      log(
        `${tag}: engine ${fmt(eng.perSecond)}/s (${(eng.ms / 1000).toFixed(1)} s, worker CPU ${eng.cpuS.map((x) => x.toFixed(0)).join('+')} s, sandbox CPU ${eng.watchCpuS.sandbox?.toFixed(0)} s, PostgreSQL CPU ${eng.postgresCpuS.toFixed(0)} s, machine ${(eng.machineBusy * 100).toFixed(0)}% busy, peak RSS ${eng.peakRssMb.map((x) => x.toFixed(0)).join('/')} MB)` +
          ` | bare SQL ${fmt(sql.perSecond)}/s (PostgreSQL CPU ${sql.postgresCpuS.toFixed(0)} s, machine ${(sql.machineBusy * 100).toFixed(0)}% busy) | bare sandbox ${fmt(run.gateway.perSecond)}/s | ${verification.ok ? 'verified: each renewed once' : 'NOT VERIFIED'}`,
      );
    }
  }
  await dropDatabase(template);
  const summary = configs.map((config) => {
    const rs = runs.filter((r) => r.config === config);
    const e = median(rs.map((r) => r.engine.perSecond));
    return {
      config,
      renewalsPerSecond: e,
      sqlPerSecond: median(rs.map((r) => r.sql.perSecond)),
      gatewayPerSecond: median(rs.map((r) => r.gateway.perSecond)),
      vsSql: median(rs.map((r) => r.engine.perSecond / r.sql.perSecond)),
      vsGateway: median(rs.map((r) => r.engine.perSecond / r.gateway.perSecond)),
      peakWorkerRssMb: Math.max(...rs.flatMap((r) => r.engine.peakRssMb)),
      allVerified: rs.every((r) => r.verification.ok && (r.sql.verification?.ok ?? true)),
      secondsPerMillion: 1_000_000 / e,
    };
  });
  return { n, declineEvery: DECLINE_EVERY, runs, summary };
}

/** Per table of a run's database, read before verification touches it: how it was read and what it holds. */
export interface TableStats {
  table: string;
  seqScans: number;
  seqRowsRead: number;
  indexScans: number;
  liveRows: number;
  deadRows: number;
}

async function tableStats(url: string): Promise<TableStats[]> {
  // The run's sessions have closed (their processes exited), and a session reports its counts when
  // it ends; the pause covers one still closing.
  await new Promise((r) => setTimeout(r, 1500));
  return queryDb<TableStats>(
    url,
    `SELECT relname AS "table", seq_scan::float8 AS "seqScans", seq_tup_read::float8 AS "seqRowsRead", coalesce(idx_scan, 0)::float8 AS "indexScans",
            n_live_tup::float8 AS "liveRows", n_dead_tup::float8 AS "deadRows"
       FROM pg_stat_user_tables ORDER BY seq_tup_read DESC, relname`,
  );
}

async function notificationBytes(url: string): Promise<{ text: number; html: number }> {
  const [r] = await queryDb<{ text: number; html: number }>(
    url,
    'SELECT coalesce(avg(octet_length(body_text)), 0)::int AS text, coalesce(avg(octet_length(body_html)), 0)::int AS html FROM notifications',
  );
  return r;
}
