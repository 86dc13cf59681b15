// The report: a Markdown table (bench/results/latest.md), a chart drawn as SVG by hand
// (bench/results/latest.svg) and the raw JSON (bench/results/latest.json + a dated copy).
import type { TestDbResult } from './scenarios/test-db.ts';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR, fmt, median } from './lib/util.ts';
import type { BillingResult } from './scenarios/billing.ts';
import type { AccessResult } from './scenarios/access.ts';
import type { GrowthResult } from './scenarios/growth.ts';
import type { MemoryResult } from './scenarios/memory.ts';
import { loadMarkdown, type LoadResult } from './scenarios/load.ts';
import { pacedMarkdown, type PacedResult } from './scenarios/paced.ts';
import { recoveryMarkdown, type RecoveryResult } from './scenarios/recovery.ts';

export interface Results {
  startedAt: string;
  finishedAt: string;
  command: string;
  machine: { cpus: number; cpuModel: string; memGb: number; node: string; postgres: string };
  options: Record<string, unknown>;
  billing?: BillingResult;
  access?: AccessResult;
  growth?: GrowthResult;
  memory?: MemoryResult;
  load?: LoadResult;
  paced?: PacedResult;
  recovery?: RecoveryResult;
  'test-db'?: TestDbResult;
  errors: { scenario: string; message: string }[];
}

export interface Row {
  scenario: string;
  measure: string;
  value: string;
  reference: string;
  ratio: number | null;
  /** Ratio target (ratio ≥ min, or ratio ≤ max) or an absolute check. */
  target: string;
  met: boolean | null;
  chart?: { label: string; ratio: number; goal?: number; goalKind?: 'min' | 'max' };
}

export function rows(r: Results): Row[] {
  const out: Row[] = [];
  const b = r.billing;
  if (b) {
    for (const s of b.summary) {
      const c = s.config;
      const name = `billing day ${c.latencyMs} ms, ${c.workers} worker${c.workers > 1 ? 's' : ''}`;
      const knobs = `batch ${c.batchSize}, ${c.lanes} lanes, ≤${c.lanes * Math.min(c.batchSize, c.concurrency)} calls in flight/worker`;
      out.push({
        scenario: name,
        measure: `renewals/s (N=${fmt(b.n)}; ${knobs})${s.allVerified ? '' : ' **NOT VERIFIED**'}`,
        value: fmt(s.renewalsPerSecond),
        reference: `bare SQL ${fmt(s.sqlPerSecond)}/s`,
        ratio: s.vsSql,
        target: c.latencyMs === 0 ? '≥ 0.50 of bare SQL' : '—',
        met: c.latencyMs === 0 ? s.vsSql >= 0.5 : null,
        chart: { label: `${c.latencyMs} ms ×${c.workers}w / bare SQL`, ratio: s.vsSql, ...(c.latencyMs === 0 ? { goal: 0.5, goalKind: 'min' as const } : {}) },
      });
      const million = c.latencyMs === 300 && c.workers === 2;
      out.push({
        scenario: name,
        measure: 'renewals/s vs the sandbox alone',
        value: fmt(s.renewalsPerSecond),
        reference: `bare sandbox client ${fmt(s.gatewayPerSecond)}/s`,
        ratio: s.vsGateway,
        target: million ? `1M in < 300 s: ${fmt(s.secondsPerMillion)} s` : '—',
        met: million ? s.secondsPerMillion < 300 : null,
        chart: { label: `${c.latencyMs} ms ×${c.workers}w / bare sandbox`, ratio: s.vsGateway },
      });
    }
    const rss = Math.max(...b.summary.map((s) => s.peakWorkerRssMb));
    out.push({ scenario: 'memory', measure: 'worker peak RSS during billing day (VmHWM, max over runs)', value: `${rss.toFixed(0)} MB`, reference: '—', ratio: null, target: '≤ 300 MB', met: rss <= 300 });
    const bad = b.runs.filter((x) => !x.verification.ok);
    out.push({
      scenario: 'billing day',
      measure: 'every due subscription renewed exactly once (invoices, attempts, sandbox charges)',
      value: bad.length ? `${bad.length} run(s) FAILED` : `${b.runs.length}/${b.runs.length} runs`,
      reference: '—',
      ratio: null,
      target: 'all runs',
      met: bad.length === 0,
    });
    // The reference is verified the same way: a ratio against a harness that skipped work is no ratio.
    const badRef = b.runs.filter((x) => x.sql.verification && !x.sql.verification.ok);
    const refChecked = b.runs.filter((x) => x.sql.verification).length;
    out.push({
      scenario: 'billing day',
      measure: 'bare-SQL reference renewed every due row exactly once',
      value: badRef.length ? `${badRef.length} run(s) FAILED: ${badRef.map((x) => x.sql.verification!.problems.join('; ')).join(' | ')}` : `${refChecked}/${b.runs.length} runs`,
      reference: '—',
      ratio: null,
      target: 'all runs',
      met: refChecked === 0 ? null : badRef.length === 0,
    });
  }
  const a = r.access;
  if (a) {
    const s = a.summary;
    out.push({
      scenario: 'access check',
      measure: `GET /v1/accounts/{id}/access req/s (${fmt(a.accounts)} accounts, ${a.connections} connections)`,
      value: fmt(s.renewd.requestsPerSecond),
      reference: `bare Fastify ${fmt(s.bare.requestsPerSecond)}/s`,
      ratio: s.ratio,
      target: '≥ 0.50',
      met: s.ratio >= 0.5,
      chart: { label: 'access / bare Fastify', ratio: s.ratio, goal: 0.5, goalKind: 'min' },
    });
    out.push({
      scenario: 'access check',
      measure: 'latency p50 / p99',
      value: `${s.renewd.p50} / ${s.renewd.p99} ms`,
      reference: `bare ${s.bare.p50} / ${s.bare.p99} ms`,
      ratio: null,
      target: 'p99 < 10 ms',
      met: s.renewd.p99 < 10 && s.renewd.non2xx === 0,
    });
  }
  const g = r.growth;
  if (g) {
    out.push({
      scenario: 'growth',
      measure: `time to renew ${fmt(g.due)} due with ${fmt(g.notDue)} not due`,
      value: `${(g.summary.fullMs / 1000).toFixed(2)} s`,
      reference: `0 not due ${(g.summary.emptyMs / 1000).toFixed(2)} s`,
      ratio: g.summary.ratio,
      target: '≤ 1.20',
      met: g.summary.ratio <= 1.2 && g.summary.verified,
      chart: { label: `growth +${fmt(g.notDue / 1e6, 1)}M not due / 0`, ratio: g.summary.ratio, goal: 1.2, goalKind: 'max' },
    });
    for (const s of g.scaling) {
      if (s.n === g.scaling[0].n) continue;
      out.push({
        scenario: 'growth',
        measure: `renewals/s at N=${fmt(s.n)} (2 workers, 0 ms)`,
        value: fmt(s.perSecond),
        reference: `N=${fmt(g.scaling[0].n)} ${fmt(g.scaling[0].perSecond)}/s`,
        ratio: s.vs10k,
        target: '—',
        met: null,
        chart: { label: `N=${fmt(s.n)} / N=${fmt(g.scaling[0].n)}`, ratio: s.vs10k },
      });
    }
  }
  const m = r.memory;
  if (m) {
    out.push({
      scenario: 'memory',
      measure: `idle RSS of renewd start --demo (PGlite; ready in ${m.summary.demoStartS.toFixed(0)} s, peak ${m.summary.demoPeakRssMb.toFixed(0)} MB)`,
      value: `${m.summary.demoIdleRssMb.toFixed(0)} MB`,
      reference: `bare Fastify ${m.summary.bareIdleRssMb.toFixed(0)} MB`,
      ratio: m.summary.ratio,
      target: '—',
      met: null,
    });
  }
  return out;
}

export function markdown(r: Results): string {
  const rs = rows(r);
  const lines = [
    `# renewd benchmark — ${r.finishedAt}`,
    '',
    `\`${r.command}\` on ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memGb} GB, Node ${r.machine.node}, ${r.machine.postgres}.`,
    `Every figure is the median of ${r.options.runs} run(s); every ratio is taken against its reference measured in the same round.`,
    '',
    '| scenario | measure | value | reference (same run) | ratio | target | met |',
    '|---|---|---:|---|---:|---|:-:|',
    ...rs.map((x) => `| ${x.scenario} | ${x.measure} | ${x.value} | ${x.reference} | ${x.ratio == null ? '—' : x.ratio.toFixed(2)} | ${x.target} | ${x.met == null ? '' : x.met ? '✅' : '❌'} |`),
    '',
  ];
  if (r.billing) {
    lines.push('Billing-day runs (renewals/s; CPU seconds of the timed part):', '', '| round | latency | workers | engine /s | bare SQL /s | bare sandbox /s | worker CPU s | sandbox CPU s | peak RSS MB | verified |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|');
    for (const x of r.billing.runs)
      lines.push(
        `| ${x.round} | ${x.config.latencyMs} ms | ${x.config.workers} | ${fmt(x.engine.perSecond)} | ${fmt(x.sql.perSecond)} | ${fmt(x.gateway.perSecond)} | ${x.engine.cpuS.map((c) => c.toFixed(0)).join(' + ')} | ${x.engine.sandboxCpuS?.toFixed(0)} | ${x.engine.peakRssMb.map((c) => c.toFixed(0)).join(' / ')} | ${x.verification.ok ? '✅' : '❌ ' + x.verification.problems.join('; ')}${x.sql.verification && !x.sql.verification.ok ? ' (bare SQL ❌ ' + x.sql.verification.problems.join('; ') + ')' : ''} |`,
      );
    lines.push('');
    lines.push(...cpuBudget(r.billing));
    lines.push(...segmentTables(r.billing));
  }
  if (r.load) lines.push('## Mixed load during a billing day', '', loadMarkdown(r.load));
  if (r.paced) lines.push("## A billing day at the gateway's pace", '', pacedMarkdown(r.paced));
  if (r.recovery) lines.push('## Recovery of failed renewals', '', recoveryMarkdown(r.recovery));
  if (r.errors.length) {
    lines.push('Errors:', '', ...r.errors.map((e) => `- **${e.scenario}**: ${e.message.replace(/\n/g, ' ')}`), '');
  }
  lines.push('![ratios](latest.svg)', '');
  return lines.join('\n');
}

/**
 * Where the machine's CPU went per renewal (medians over the rounds of each configuration): the
 * engine workers, the sandbox PSP and the local PostgreSQL server, beside the bare-SQL harness and
 * PostgreSQL for the same rows. "Ceiling" is the rate if every core did nothing else: cores ×
 * 1000 ms ÷ CPU ms per renewal, the most this mix of processes can reach on this machine.
 */
export function cpuBudget(b: BillingResult): string[] {
  const measured = b.runs.filter((x) => x.engine.postgresCpuS != null && x.sql.postgresCpuS != null);
  if (measured.length === 0) return [];
  const perRenewal = (cpuS: number, n: number) => (cpuS * 1000) / n;
  const lines = [
    'CPU per renewal, ms (medians; PostgreSQL = every local `postgres` process; ceiling = cores × 1000 ÷ total):',
    '',
    '| latency | workers | engine workers | sandbox | PostgreSQL | total | machine busy | ceiling /s | engine /s | bare-SQL harness | its PostgreSQL | its total | its ceiling /s | bare SQL /s |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of b.summary) {
    const rs = measured.filter((x) => x.config.latencyMs === s.config.latencyMs && x.config.workers === s.config.workers);
    if (rs.length === 0) continue;
    const cores = rs[0].engine.cores ?? os.availableParallelism();
    const m = (f: (x: (typeof rs)[number]) => number) => median(rs.map(f));
    const w = m((x) => perRenewal(x.engine.cpuS.reduce((a, c) => a + c, 0), x.engine.n));
    const sb = m((x) => perRenewal(x.engine.sandboxCpuS, x.engine.n));
    const pg = m((x) => perRenewal(x.engine.postgresCpuS!, x.engine.n));
    const tot = m((x) => perRenewal(x.engine.cpuS.reduce((a, c) => a + c, 0) + x.engine.sandboxCpuS + x.engine.postgresCpuS!, x.engine.n));
    const h = m((x) => perRenewal(x.sql.cpuS.reduce((a, c) => a + c, 0), x.sql.n));
    const hpg = m((x) => perRenewal(x.sql.postgresCpuS!, x.sql.n));
    const htot = m((x) => perRenewal(x.sql.cpuS.reduce((a, c) => a + c, 0) + x.sql.postgresCpuS!, x.sql.n));
    const ms = (v: number) => v.toFixed(2);
    lines.push(
      `| ${s.config.latencyMs} ms | ${s.config.workers} | ${ms(w)} | ${ms(sb)} | ${ms(pg)} | ${ms(tot)} | ${(m((x) => x.engine.machineBusy ?? NaN) * 100).toFixed(0)} % | ${fmt((cores * 1000) / tot)} | ${fmt(m((x) => x.engine.perSecond))} | ${ms(h)} | ${ms(hpg)} | ${ms(htot)} | ${fmt((cores * 1000) / htot)} | ${fmt(m((x) => x.sql.perSecond))} |`,
    );
  }
  lines.push('');
  return lines;
}

/**
 * Large runs (N ≥ 100,000) cut in tenths: whether the rate holds as the tables grow, and if not,
 * whose CPU per renewal grew or what PostgreSQL's sessions waited on (average sessions per wait
 * event; "CPU" = active, not waiting).
 */
export function segmentTables(b: BillingResult): string[] {
  const lines: string[] = [];
  for (const x of b.runs) {
    if (x.engine.n < 100_000) continue;
    for (const [who, segs] of [['engine', x.engine.segments], ['bare SQL', x.sql.segments]] as const) {
      if (!segs?.length) continue;
      lines.push(
        `Round ${x.round}, ${x.config.latencyMs} ms, ${x.config.workers} worker(s), ${who}, by tenths of the run (CPU ms per renewal; PostgreSQL sessions by wait event):`,
        '',
        '| renewals | s | /s | workers | sandbox | PostgreSQL | machine busy | PostgreSQL sessions |',
        '|---|---:|---:|---:|---:|---:|---:|---|',
        ...segs.map(
          (g) =>
            `| ${fmt(g.from)}–${fmt(g.to)} | ${g.seconds.toFixed(0)} | ${fmt(g.perSecond)} | ${g.workerMs.toFixed(2)} | ${who === 'engine' ? g.watchMs.toFixed(2) : '—'} | ${g.postgresMs.toFixed(2)} | ${(g.machineBusy * 100).toFixed(0)} % | ${Object.entries(g.waits).slice(0, 5).map(([k, v]) => `${k} ${v}`).join(', ')} |`,
        ),
        '',
      );
    }
  }
  return lines;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal bar per ratio, with the target as a dashed line (green: met, red: missed, blue: no target). */
export function svg(r: Results): string {
  const bars = rows(r).filter((x) => x.chart && Number.isFinite(x.chart.ratio)).map((x) => x.chart!);
  const W = 860;
  const left = 300;
  const right = 70;
  const rowH = 30;
  const top = 56;
  const H = top + Math.max(1, bars.length) * rowH + 40;
  const max = Math.max(1.25, ...bars.map((b) => Math.max(b.ratio, b.goal ?? 0))) * 1.05;
  const x = (v: number) => left + (v / max) * (W - left - right);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="600">renewd benchmark — ratios against references measured in the same run</text>`,
    `<text x="16" y="42" fill="#555">${esc(`${r.finishedAt} · median of ${r.options.runs} run(s) · N=${fmt(Number(r.options.n))} · dashed line: target`)}</text>`,
  ];
  for (let t = 0; t <= max + 1e-9; t += max > 3 ? 1 : 0.25) {
    parts.push(`<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${top + bars.length * rowH}" stroke="#eee"/>`);
    parts.push(`<text x="${x(t)}" y="${top + bars.length * rowH + 16}" text-anchor="middle" fill="#777" font-size="11">${t.toFixed(2)}</text>`);
  }
  parts.push(`<line x1="${x(1)}" y1="${top - 6}" x2="${x(1)}" y2="${top + bars.length * rowH}" stroke="#999"/>`);
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const met = b.goal === undefined ? null : b.goalKind === 'max' ? b.ratio <= b.goal : b.ratio >= b.goal;
    const color = met === null ? '#4a78c2' : met ? '#2e9e5b' : '#d0443e';
    parts.push(`<text x="${left - 8}" y="${y + 19}" text-anchor="end">${esc(b.label)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 6}" width="${Math.max(1, x(b.ratio) - left)}" height="${rowH - 12}" fill="${color}" rx="2"/>`);
    parts.push(`<text x="${x(b.ratio) + 6}" y="${y + 19}" fill="#333">${b.ratio.toFixed(2)}</text>`);
    if (b.goal !== undefined) parts.push(`<line x1="${x(b.goal)}" y1="${y + 2}" x2="${x(b.goal)}" y2="${y + rowH - 2}" stroke="#222" stroke-width="2" stroke-dasharray="4 3"/>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export async function writeReport(r: Results, opts: { copy?: boolean } = {}): Promise<string> {
  const dir = path.join(BENCH_DIR, 'results');
  await mkdir(dir, { recursive: true });
  const stamp = r.finishedAt.replace(/[:.]/g, '-');
  await writeFile(path.join(dir, 'latest.json'), JSON.stringify(r, null, 2) + '\n');
  if (opts.copy !== false) await writeFile(path.join(dir, `run-${stamp}.json`), JSON.stringify(r, null, 2) + '\n');
  await writeFile(path.join(dir, 'latest.md'), markdown(r));
  await writeFile(path.join(dir, 'latest.svg'), svg(r));
  return dir;
}

export function machine(pgVersion: string) {
  const cpus = os.cpus();
  return { cpus: cpus.length, cpuModel: cpus[0]?.model.trim() ?? 'unknown', memGb: Math.round(os.totalmem() / 2 ** 30), node: process.versions.node, postgres: pgVersion };
}
