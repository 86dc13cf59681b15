// `npm run bench` — billing-day scale benchmarks with ratios against references measured in the
// same run. Progress goes to stderr; the report to bench/results/ (latest.md, latest.svg, latest.json).
//
//   npm run bench                          # everything, N=200,000, 3 runs each
//   npm run bench -- --quick               # a small smoke run of each scenario
//   npm run bench -- --only billing --n 1000000 --latency 300 --workers 2 --runs 1
//   npm run bench -- --only growth --full  # adds the N=1,000,000 scaling point
//   npm run bench -- --only load --load-seconds 45   # mixed load during a billing day (not in the default run)
//   npm run bench -- --only recovery --recovery-n 2000 --seed 42   # recovery of failed renewals: renewd's policy vs the anchors' schedules
import { parseArgs } from 'node:util';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import pg from 'pg';
import { ADMIN_URL, dropAll } from './lib/pg.ts';
import { BENCH_DIR, log } from './lib/util.ts';
import { machine, markdown, writeReport, type Results } from './report.ts';

export interface Options {
  n: number;
  runs: number;
  quick: boolean;
  full: boolean;
  only: Set<string>;
  latencies: number[];
  workers: number[];
  lanes0?: number;
  batch0?: number;
  lanesSlow?: number;
  batchSlow?: number;
  /** Gateway calls in flight per lane (default: the batch size). */
  concurrency0?: number;
  concurrencySlow?: number;
  gatewayMs: number;
  accessAccounts: number;
  accessS: number;
  connections: number;
  growthDue: number;
  growthNotDue: number;
  scalingPoints: number[];
  profile: boolean;
  verbose: boolean;
  /** Sockets per worker to the sandbox (default: the calls in flight; 0 = the adapter's default). */
  maxSockets?: number;
  profileDir: string;
  /** How long the mixed workload of `load` runs, s. */
  loadS: number;
  /** paced: RENEWD_GATEWAY_RATE for the run. */
  pacedRate?: number;
  /** paced: the sandbox limiter's rate (default Stripe's live 100/s). */
  pacedLimit?: number;
  /** recovery: failed renewals in the population, its seed, the grace every policy gets, which policies. */
  recoveryN: number;
  recoveryOutageHours: number;
  recoveryOutageMode: 'gateway' | 'issuer';
  seed: number;
  recoveryGrace: number;
  recoveryPolicies?: string[];
}

const SCENARIOS = ['billing', 'access', 'growth', 'memory', 'load', 'paced', 'recovery', 'test-db'] as const;
/** What `npm run bench` runs without --only (`load` is asked for by name). */
const DEFAULT_SCENARIOS = ['billing', 'access', 'growth', 'memory'];

const USAGE = `npm run bench -- [options]
  --n N              due subscriptions on billing day (default 200000)
  --runs R           runs per figure; each figure is the median (default 3)
  --quick            small smoke run of every scenario (N=2000, 1 run)
  --full             also the N=1,000,000 point of the growth scaling curve
  --only LIST        billing,access,growth,memory,load,paced,recovery,test-db (comma-separated; default all but load, paced, recovery, test-db)
                     test-db: how long a test database takes to open, from initdb or from the tests' migrated snapshot
                     paced: a billing day of --n renewals (quick: at most 300) against the sandbox with
                     Stripe's live limit (100/s) on, renewd paced at --rate (default: the limit) by the
                     first --workers value of workers sharing the pace; --limit L sets the sandbox's
                     limiter lower (a gateway slower than configured: 429s, AIMD)
  --load-seconds S   how long the mixed workload of load runs (default 45); load takes --n due
                     renewals (default 20000), the first --workers value as renewd worker processes
                     (default 2 here) and the first --latency value (default 0 ms)
                     recovery: a seeded population of failed renewals through the engine, the sandbox and
                     the test clock, renewd's default policy against Stripe's, Kill Bill's and a Lago-like
                     schedule (bench/results/recovery.{md,json,svg}; any network-cap breach fails the run)
  --recovery-n N     recovery: failed renewals in the population (default 2000; quick: 300)
  --seed S           recovery: the population's seed (default 42)
  --recovery-grace D recovery: grace days (downgrade end) of every policy compared (default 28)
  --recovery-policies LIST  recovery: renewd,stripe,killbill,lago (default all)
  --recovery-outage-hours H  recovery: a gateway-wide outage (every request 503) of H hours on day 4 of the
                     dunning from 08:00, clock in 5-minute steps around it (default 6; 0 = none)
  --recovery-outage-mode M  recovery: gateway (default: every request 503, nothing stored under the key)
                     or issuer (every charge declined issuer_not_available, stored like any decline;
                     lookups work): results in recovery-issuer.*
  --latency LIST     gateway latencies for billing day, ms (default 0,300)
  --workers LIST     worker processes for billing day (default 1,2)
  --lanes L --batch B          engine lanes/batch size at 0 ms (default 3 × 200)
  --lanes-slow L --batch-slow B  the same at 300 ms (default 3 × 300)
  --concurrency C / --concurrency-slow C  gateway calls in flight per lane (default: the batch size)
  --connections C    access check connections (default 10)
  --max-sockets S    sockets per worker to the sandbox (default: calls in flight; 0: adapter default 256)
  --report FILE      re-render latest.md/svg/json from a saved run-….json
  --verbose          per-worker memory figures
  --profile          CPU-profile the billing-day workers (bench/results/profiles/)`;

function parse(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      runs: { type: 'string' },
      quick: { type: 'boolean' },
      full: { type: 'boolean' },
      only: { type: 'string' },
      latency: { type: 'string' },
      workers: { type: 'string' },
      lanes: { type: 'string' },
      batch: { type: 'string' },
      'lanes-slow': { type: 'string' },
      'batch-slow': { type: 'string' },
      concurrency: { type: 'string' },
      'concurrency-slow': { type: 'string' },
      connections: { type: 'string' },
      'access-seconds': { type: 'string' },
      'load-seconds': { type: 'string' },
      'growth-not-due': { type: 'string' },
      profile: { type: 'boolean' },
      verbose: { type: 'boolean' },
      report: { type: 'string' },
      'max-sockets': { type: 'string' },
      rate: { type: 'string' },
      limit: { type: 'string' },
      'recovery-n': { type: 'string' },
      seed: { type: 'string' },
      'recovery-grace': { type: 'string' },
      'recovery-outage-hours': { type: 'string' },
      'recovery-outage-mode': { type: 'string' },
      'recovery-policies': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (v: string | undefined, d: number, name: string) => {
    if (v === undefined) return d;
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} needs a whole number, got "${v}"`);
    return n;
  };
  const list = (v: string | undefined, d: number[], name: string) => (v === undefined ? d : v.split(',').map((x) => int(x.trim(), 0, name)));
  const quick = values.quick ?? false;
  const full = values.full ?? false;
  const n = int(values.n, quick ? 2000 : 200_000, 'n');
  const outageMode = values['recovery-outage-mode'] ?? 'gateway';
  if (outageMode !== 'gateway' && outageMode !== 'issuer') throw new Error(`--recovery-outage-mode: gateway or issuer, got "${outageMode}"`);
  const only = new Set((values.only ?? DEFAULT_SCENARIOS.join(',')).split(',').map((s) => s.trim()).filter(Boolean));
  for (const s of only) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--only: unknown scenario "${s}" (${SCENARIOS.join(', ')})`);
  const growthDue = quick ? 1000 : 10_000;
  const scaling = quick ? [1000, 5000] : [10_000, 100_000, ...(full || n >= 1_000_000 ? [1_000_000] : [])];
  return {
    n,
    runs: int(values.runs, quick ? 1 : 3, 'runs') || 1,
    quick,
    full,
    only,
    latencies: list(values.latency, [0, 300], 'latency'),
    workers: list(values.workers, [1, 2], 'workers'),
    lanes0: values.lanes ? int(values.lanes, 3, 'lanes') : undefined,
    batch0: values.batch ? int(values.batch, 200, 'batch') : undefined,
    lanesSlow: values['lanes-slow'] ? int(values['lanes-slow'], 6, 'lanes-slow') : undefined,
    batchSlow: values['batch-slow'] ? int(values['batch-slow'], 1000, 'batch-slow') : undefined,
    concurrency0: values.concurrency ? int(values.concurrency, 200, 'concurrency') : undefined,
    concurrencySlow: values['concurrency-slow'] ? int(values['concurrency-slow'], 500, 'concurrency-slow') : undefined,
    gatewayMs: quick ? 2000 : 15_000,
    accessAccounts: quick ? 5000 : 100_000,
    accessS: int(values['access-seconds'], quick ? 2 : 10, 'access-seconds'),
    connections: int(values.connections, 10, 'connections'),
    growthDue,
    growthNotDue: int(values['growth-not-due'], quick ? 20_000 : 1_000_000, 'growth-not-due'),
    scalingPoints: scaling,
    profile: values.profile ?? false,
    verbose: values.verbose ?? false,
    maxSockets: values['max-sockets'] !== undefined ? int(values['max-sockets'], 0, 'max-sockets') : undefined,
    profileDir: path.join(BENCH_DIR, 'results', 'profiles'),
    loadS: int(values['load-seconds'], quick ? 10 : 45, 'load-seconds') || 1,
    ...(values.rate ? { pacedRate: int(values.rate, 100, 'rate') } : {}),
    ...(values.limit ? { pacedLimit: int(values.limit, 100, 'limit') } : {}),
    recoveryN: int(values['recovery-n'], quick ? 300 : 2000, 'recovery-n') || 1,
    seed: int(values.seed, 42, 'seed'),
    recoveryGrace: int(values['recovery-grace'], 28, 'recovery-grace'),
    recoveryOutageHours: int(values['recovery-outage-hours'], 6, 'recovery-outage-hours'),
    recoveryOutageMode: outageMode,
    ...(values['recovery-policies'] ? { recoveryPolicies: values['recovery-policies'].split(',').map((x) => x.trim()).filter(Boolean) } : {}),
  };
}

/** The run without the outage (recovery-outage0.json) to compare with, if it exists. */
async function recoveryBaseline(dir: string, r: { outageHours: number }) {
  if (!r.outageHours) return null;
  const { readFile } = await import('node:fs/promises');
  try {
    return JSON.parse(await readFile(path.join(dir, 'recovery-outage0.json'), 'utf8')).recovery;
  } catch {
    return null;
  }
}

/** recovery.* for the default grace (28 days) and outage (6 h, gateway); otherwise e.g. recovery-grace14.*, recovery-outage0.*, recovery-issuer.*. */
function recoveryBase(o: Options): string {
  return `recovery${o.recoveryOutageMode === 'issuer' && o.recoveryOutageHours > 0 ? '-issuer' : ''}${o.recoveryGrace === 28 ? '' : `-grace${o.recoveryGrace}`}${o.recoveryOutageHours === 6 ? '' : `-outage${o.recoveryOutageHours}`}`;
}

async function main() {
  const ri = process.argv.indexOf('--report');
  if (ri >= 0) {
    // Re-renders latest.md/latest.svg/latest.json from a saved raw JSON (e.g. a bench/results/run-….json).
    const { readFile } = await import('node:fs/promises');
    const saved = JSON.parse(await readFile(process.argv[ri + 1], 'utf8')) as Results;
    await writeReport(saved, { copy: false });
    process.stdout.write(markdown(saved));
    return;
  }
  const o = parse(process.argv.slice(2));
  if (o.profile) await mkdir(o.profileDir, { recursive: true });
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  const pgVersion = ((await c.query('SHOW server_version')).rows[0].server_version as string).split(' ')[0];
  // Server settings that change long runs: without autovacuum the queue's dead rows pile up.
  const setting = async (name: string) => (await c.query(`SELECT current_setting($1) AS v`, [name])).rows[0].v as string;
  const pgSettings = `autovacuum ${await setting('autovacuum')}, shared_buffers ${await setting('shared_buffers')}`;
  await c.end();
  const results: Results = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: machine(`PostgreSQL ${pgVersion} (${pgSettings})`),
    options: { ...o, only: [...o.only] },
    errors: [],
  };
  const stop = async (sig: string) => {
    log(`${sig}: dropping the benchmark databases…`);
    await dropAll();
    process.exit(130);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  const t0 = Date.now();
  const run = async <K extends 'billing' | 'access' | 'growth' | 'memory' | 'load' | 'paced' | 'recovery' | 'test-db'>(name: K, fn: () => Promise<Results[K]>) => {
    if (!o.only.has(name)) return;
    log(`== ${name} ==`);
    try {
      results[name] = await fn();
    } catch (err) {
      const e = err as Error;
      log(`!!! ${name} failed: ${e.stack ?? e.message}`);
      results.errors.push({ scenario: name, message: e.message });
      process.exitCode = 1;
    }
  };
  try {
    await run('billing', async () => (await import('./scenarios/billing.ts')).runBilling(o));
    await run('access', async () => (await import('./scenarios/access.ts')).runAccess(o));
    await run('growth', async () => (await import('./scenarios/growth.ts')).runGrowth(o));
    await run('memory', async () => (await import('./scenarios/memory.ts')).runMemory(o));
    await run('paced', async () => (await import('./scenarios/paced.ts')).runPaced(o));
    await run('load', async () => (await import('./scenarios/load.ts')).runLoad({ ...o, workers: o.workers.length === 2 && o.workers[0] === 1 ? [2] : o.workers }));
    await run('test-db', async () => (await import('./scenarios/test-db.ts')).runTestDb(o));
    await run('recovery', async () => (await import('./scenarios/recovery.ts')).runRecovery({ n: o.recoveryN, seed: o.seed, graceDays: o.recoveryGrace, outageHours: o.recoveryOutageHours, outageMode: o.recoveryOutageMode, policies: o.recoveryPolicies }));
  } finally {
    await dropAll();
  }
  // A run whose renewals (or whose bare-SQL reference) were not each done exactly once is a failed
  // run: its figures are kept in the report, marked, and the command exits non-zero.
  if (results.billing && results.billing.summary.some((s) => !s.allVerified)) {
    log('!!! billing: a run was not verified (see the report): exiting non-zero');
    process.exitCode = 1;
  }
  // A recovery run that breached a network cap (counted from the sandbox's own charges) failed.
  if (results.recovery && !results.recovery.ok) {
    log('!!! recovery: a network cap was breached or a renewal was left open (see the report): exiting non-zero');
    process.exitCode = 1;
  }
  results.finishedAt = new Date().toISOString();
  // Recovery and paced runs keep their own files only; latest.* stays the last run of the billing-day suite.
  const ownFilesOnly = [...o.only].every((s) => s === 'recovery' || s === 'paced' || s === 'test-db');
  const dir = ownFilesOnly ? path.join(BENCH_DIR, 'results') : await writeReport(results);
  if (results.load) {
    // Its own files as well (latest.* is the last run of whatever ran).
    const { writeFile } = await import('node:fs/promises');
    const { loadMarkdown } = await import('./scenarios/load.ts');
    await writeFile(path.join(dir, 'load.json'), JSON.stringify({ ...results, billing: undefined, access: undefined, growth: undefined, memory: undefined }, null, 2) + '\n');
    await writeFile(path.join(dir, 'load.md'), `# renewd under load — ${results.finishedAt}\n\n\`${results.command}\` on ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}, ${results.machine.postgres}.\n\n${loadMarkdown(results.load)}`);
  }
  if (results.paced) {
    // Its own files too, named for the run (N and workers), so runs of several sizes are kept side by side.
    const { writeFile } = await import('node:fs/promises');
    const { pacedMarkdown } = await import('./scenarios/paced.ts');
    const p = results.paced;
    const base = `paced-${p.n}-${p.workers}w-limit${p.limit}`;
    await writeFile(path.join(dir, `${base}.json`), JSON.stringify({ command: results.command, machine: results.machine, finishedAt: results.finishedAt, paced: p }, null, 2) + '\n');
    await writeFile(path.join(dir, `${base}.md`), `# A billing day at the gateway's pace — ${results.finishedAt}\n\n\`${results.command}\` on ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}, ${results.machine.postgres}.\n\n${pacedMarkdown(p)}`);
  }
  if (results['test-db']) {
    const { writeFile } = await import('node:fs/promises');
    const { testDbMarkdown } = await import('./scenarios/test-db.ts');
    await writeFile(path.join(dir, 'test-db.json'), JSON.stringify({ command: results.command, machine: results.machine, finishedAt: results.finishedAt, testDb: results['test-db'] }, null, 2) + '\n');
    await writeFile(path.join(dir, 'test-db.md'), `# Opening a test database — ${results.finishedAt}\n\n\`${results.command}\` on ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}.\n\n${testDbMarkdown(results['test-db'])}`);
  }
  if (results.recovery) {
    const { writeFile } = await import('node:fs/promises');
    const { recoveryMarkdown, recoverySvg } = await import('./scenarios/recovery.ts');
    // The default grace (28 days) and outage (6 h, gateway) write recovery.*; others their own files (recovery-grace14.*, recovery-outage0.*, recovery-issuer.*).
    const base = recoveryBase(o);
    await writeFile(path.join(dir, `${base}.json`), JSON.stringify({ startedAt: results.startedAt, finishedAt: results.finishedAt, command: results.command, machine: results.machine, recovery: results.recovery, errors: results.errors }, null, 2) + '\n');
    await writeFile(
      path.join(dir, `${base}.md`),
      `# renewd recovery benchmark — ${results.finishedAt}\n\n\`${results.command}\` on ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}, ${results.machine.postgres}.${results.recovery.ok ? '' : ' **FAILED** (see below).'}\n\n${recoveryMarkdown(results.recovery, await recoveryBaseline(dir, results.recovery))}\n![recovered share per policy](${base}.svg)\n`,
    );
    await writeFile(path.join(dir, `${base}.svg`), recoverySvg(results.recovery, results.finishedAt));
  }
  log(`\ndone in ${((Date.now() - t0) / 1000).toFixed(0)} s; report in ${path.relative(process.cwd(), dir)}/${ownFilesOnly ? (results.paced ? 'paced-…' : results['test-db'] && !results.recovery ? 'test-db' : recoveryBase(o)) : 'latest'}.{md,json}\n`);
  process.stdout.write(markdown(results));
}

main().catch(async (err) => {
  console.error(err instanceof Error ? err.message : err);
  await dropAll().catch(() => {});
  process.exitCode = 1;
});
