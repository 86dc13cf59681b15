// The `renewd` command: start | worker | migrate | seed | clock advance | sandbox | verify | policy backtest.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CommandError } from '../core/errors.ts';
import { loadConfig, requireGateway, type Config } from '../config.ts';
import { openDb } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { planCount } from '../store/plans.ts';
import { savedTestClockTime } from '../store/test-clock.ts';
import { startService } from '../service.ts';
import { seedDemo, DEMO_HISTORY_DAYS } from '../engine/seed.ts';
import { advanceClock, requireTestClockDatabase } from '../engine/test-clock.ts';
import { DAY } from '../core/time.ts';
import { createGatewayFromConfig } from '../gateway/index.ts';
import { SANDBOX_API_KEY } from '../service.ts';
import { cliPlugins } from './plugins.ts';

const USAGE = `renewd — subscription renewals and payment recovery

Usage:
  renewd start [--demo]        API, worker and pages; needs a gateway: STRIPE_API_KEY, or
                               RENEWD_GATEWAY=sandbox (--demo: the sandbox PSP, test clock and demo
                               data on first start, unless RENEWD_SEED=0)
  renewd worker                only the renewal worker (scale out: run several against one PostgreSQL;
                               needs a gateway, as start)
  renewd migrate               apply database migrations
  renewd seed                  load the demo data set
  renewd clock advance --days N | --to ISO   advance the test clock and run what is due
  renewd sandbox [--port N]    only the sandbox payment service (Stripe-compatible)
  renewd keys list | create --name NAME | revoke ID
                               admin keys: list them (never the keys), create one (printed once),
                               revoke one (it stops working within seconds everywhere)
  renewd verify [--at ISO] [--gateway [--from ISO]]
                               check the billing invariants as of --at (default: the test clock if the
                               database has one, else now); --gateway: also list the gateway's charges
                               from --from (default 30 days before --at) to --at and report charges
                               with no paid invoice, paid invoices with no charge, amounts that
                               differ; exit 1 on a violation
  renewd policy backtest --policy FILE [--since 90d]
                               replay the renewals that failed in the last 90 days (--since N or Nd)
                               under the policy in FILE (JSON: a whole dunning policy or the fields to
                               change, merged onto the policy in force) with recovery rates estimated
                               from the recorded attempts; prints the estimates beside what happened;
                               exit 2 when the file or the policy is not valid

Configuration comes from the environment; see the README.`;

async function main(argv: string[]) {
  // `renewd --help`, `renewd -h`, `renewd help` and `renewd <command> --help|-h` all show the usage.
  if (argv[0] === '--help' || argv[0] === '-h') return void console.log(USAGE);
  const [cmd, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      demo: { type: 'boolean' },
      days: { type: 'string' },
      to: { type: 'string' },
      port: { type: 'string' },
      at: { type: 'string' },
      gateway: { type: 'boolean' },
      from: { type: 'string' },
      policy: { type: 'string' },
      since: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!cmd || values.help || cmd === 'help') return void console.log(USAGE);
  switch (cmd) {
    case 'start':
      return start(values.demo ?? false);
    case 'worker':
      return worker();
    case 'migrate': {
      const config = loadConfig();
      const db = await openDb(config);
      const applied = await migrate(db);
      await db.close();
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      return;
    }
    case 'seed': {
      const config = loadConfig();
      const svc = await startService(config, { listen: false, worker: false });
      await seedDemo(svc.ctx, { log: console.log });
      await svc.stop();
      return;
    }
    case 'clock': {
      if (positionals[0] !== 'advance') throw new UsageError('usage: renewd clock advance --days N | --to ISO');
      const days = values.days === undefined ? undefined : Number(values.days);
      if ((values.to === undefined) === (days === undefined) || (days !== undefined && !Number.isFinite(days)) || (values.to !== undefined && Number.isNaN(new Date(values.to).getTime())))
        throw new UsageError('give --days N or --to <ISO time>');
      const config = { ...loadConfig(), testClock: true };
      const db = await openDb(config);
      try {
        // The test clock is forced on for this command: only on a database that has one.
        await requireTestClockDatabase(db);
        const svc = await startService(config, { db, listen: false, worker: false });
        // The same command as the API's POST /v1/test-clock/advance and the console's button.
        const r = await advanceClock(svc.ctx, values.to !== undefined ? { to: values.to } : { days });
        console.log(`test clock now ${r.now.toISOString()} (${r.steps} steps of due work)`);
        await svc.stop();
      } finally {
        await db.close();
      }
      return;
    }
    case 'sandbox': {
      const { runSandbox } = await import('../sandbox/main.ts');
      const port = values.port !== undefined ? Number(values.port) : loadConfig().sandboxPort;
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError('--port takes a port number (0–65535)');
      const r = await runSandbox({ port });
      console.log(`sandbox PSP (Stripe-compatible) on ${r.url} — use any sk_test_… key`);
      return;
    }
    case 'keys': {
      const keys = await import('../engine/admin-keys.ts');
      const config = loadConfig();
      const db = await openDb(config);
      await migrate(db);
      try {
        const sub = positionals[0];
        if (sub === 'list') {
          for (const k of await keys.listKeys(db))
            console.log(`${k.id}\t${k.active ? 'active ' : 'revoked'}\t…${k.last4 ?? '????'}\t${k.source}\tlast used ${k.last_used_at?.toISOString() ?? 'never'}\t${k.name}`);
        } else if (sub === 'create') {
          if (!values.name) throw new UsageError('usage: renewd keys create --name NAME');
          const k = await keys.createAdminKey(db, values.name);
          console.error(`created ${k.id} "${k.name}"; the key is printed once, below (only its hash is stored):`);
          console.log(k.key);
        } else if (sub === 'revoke') {
          if (!positionals[1]) throw new UsageError('usage: renewd keys revoke ID   (the ID from `renewd keys list`)');
          const k = await keys.revokeAdminKey(db, positionals[1]);
          console.log(`${k.id} "${k.name}" revoked at ${k.revoked_at!.toISOString()} (running servers stop accepting it within 10 s)`);
        } else throw new UsageError('usage: renewd keys list | create --name NAME | revoke ID');
      } finally {
        await db.close();
      }
      return;
    }
    case 'verify': {
      const { verifyInvariants, verifyWithGateway } = await import('../engine/verify.ts');
      const config = loadConfig();
      if (values.from !== undefined && !values.gateway) throw new UsageError('--from is the start of the gateway window: use it with --gateway');
      const db = await openDb(config);
      let report;
      try {
        // "Due by now" is the installation's now: a test-clock database is checked at its test clock
        // (the wall clock would call everything due since then a backlog).
        const saved = await savedTestClockTime(db).catch(() => null);
        const at = values.at ? new Date(values.at) : saved ?? new Date();
        if (Number.isNaN(at.getTime())) throw new UsageError('--at takes an ISO time');
        console.error(`renewd verify: invariants as of ${at.toISOString()}${values.at ? '' : saved ? ' (the test clock)' : ''}`);
        if (values.gateway) {
          const from = values.from !== undefined ? new Date(values.from) : new Date(at.getTime() - 30 * DAY);
          if (Number.isNaN(from.getTime()) || from > at) throw new UsageError('--from takes an ISO time before --at');
          const { gateway, name } = gatewayForVerify(config);
          console.error(`renewd verify: the charges of ${name} created ${from.toISOString()} – ${at.toISOString()}`);
          report = await verifyWithGateway(db, at, gateway, { from, to: at });
        } else report = await verifyInvariants(db, at);
      } finally {
        await db.close();
      }
      console.log(JSON.stringify(report, null, 2));
      if (report.violations.length) process.exitCode = 1;
      return;
    }
    case 'policy': {
      if (positionals[0] !== 'backtest' || !values.policy) throw new UsageError('usage: renewd policy backtest --policy FILE [--since 90d]');
      const since = values.since === undefined ? undefined : /^\d+d?$/.test(values.since) ? Number.parseInt(values.since, 10) : NaN;
      if (since !== undefined && !(since >= 1)) throw new UsageError('--since takes a number of days, e.g. 90d');
      let text: string;
      try {
        text = readFileSync(values.policy, 'utf8');
      } catch (err) {
        throw new UsageError(`renewd policy backtest: cannot read ${values.policy}: ${(err as Error).message}`);
      }
      const { backtestPolicy, parsePolicyText } = await import('../engine/backtest.ts');
      const { formatBacktest } = await import('./backtest.ts');
      const db = await openDb(loadConfig());
      try {
        // The installation's now: a test-clock database is replayed up to its test clock.
        const saved = await savedTestClockTime(db).catch(() => null);
        const clock = { now: () => saved ?? new Date() };
        const report = await backtestPolicy({ db, clock }, { policy: parsePolicyText(text), since_days: since });
        console.log(formatBacktest(report, values.policy));
      } catch (err) {
        if (err instanceof CommandError) throw new UsageError(`renewd policy backtest: ${err.message}${err.fields.length ? `\n${err.fields.map((f) => `  ${f.field}: ${f.message}`).join('\n')}` : ''}`);
        throw err;
      } finally {
        await db.close();
      }
      return;
    }
    default:
      throw new UsageError(`unknown command "${cmd}"\n\n${USAGE}`);
  }
}

class UsageError extends Error {}

/**
 * Logs as JSON lines (for a log collector) unless a person watches the terminal: then one readable
 * line per entry (pino-pretty, in pino's worker thread), so the banner is not buried in JSON.
 */
function loggerFor(level: string) {
  if (!process.stdout.isTTY) return { level };
  return { level, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', singleLine: true } } };
}

/** The gateway `verify --gateway` reads: Stripe, or the sandbox where it runs (read only: it lists). */
function gatewayForVerify(config: Config) {
  if (config.gateway === 'stripe') return { gateway: createGatewayFromConfig({ stripeApiKey: config.stripeApiKey, stripeApiBase: config.stripeApiBase }), name: `Stripe${config.stripeApiBase ? ` at ${config.stripeApiBase}` : ''}` };
  const url = config.sandboxUrl ?? `http://127.0.0.1:${config.sandboxPort}`;
  return { gateway: createGatewayFromConfig({ stripeApiKey: SANDBOX_API_KEY, stripeApiBase: url }), name: `the sandbox PSP at ${url}` };
}

async function start(demo: boolean) {
  const env = loadConfig();
  // --demo asks for the sandbox (unless a gateway was chosen: a demo of one's own Stripe test account).
  if (!demo) requireGateway(env, 'start');
  const config: Config = demo ? { ...env, testClock: true } : env;
  // RENEWD_SEED=0: a demo on an empty database, without the demo data set.
  const fresh = demo && config.seed ? await isFresh(config) : false;
  if (fresh && !config.testClockStart) {
    // The demo plays DEMO_HISTORY_DAYS of history up to today through the engine.
    config.testClockStart = new Date(Date.now() - DEMO_HISTORY_DAYS * DAY).toISOString();
  }
  // RENEWD_WORKER=0 serves the API and pages only (renewd worker processes do the billing).
  const svc = await startService(config, { plugins: await cliPlugins(), worker: demo ? undefined : config.worker, logger: loggerFor(config.logLevel) });
  if (fresh) {
    console.log('Loading the demo data set (50 days of history through the engine)…');
    await seedDemo(svc.ctx, { log: console.log });
  }
  if (demo) svc.ctx.engine.start(config.workerIntervalMs);
  const lines = [
    '',
    `renewd is running on ${svc.url}`,
    `  operator console  ${svc.url}/console`,
    `  API docs          ${svc.url}/docs   (OpenAPI: ${svc.url}/openapi.json)`,
    svc.sandboxUrl
      ? `  gateway           the SANDBOX PSP at ${svc.sandboxUrl} — test cards, no real money\n                    (${demo && !env.gatewayChosen ? '--demo' : 'RENEWD_GATEWAY=sandbox'}; production: STRIPE_API_KEY)`
      : `  gateway           Stripe${config.stripeApiBase ? ` at ${config.stripeApiBase}` : ''}`,
    config.databaseUrl
      ? '  database          PostgreSQL (DATABASE_URL)'
      : `  database          PGlite in ${config.dataDir} — embedded, for evaluation and small installs: survives a\n                    process crash, not a power loss; production: PostgreSQL (DATABASE_URL)`,
    config.testClock ? `  test clock        on, now ${svc.ctx.clock.now().toISOString()}` : '',
    svc.generatedAdminKey
      ? `  admin key         ${svc.generatedAdminKey}\n                    (generated now and shown once; stored hashed — set RENEWD_ADMIN_KEY to choose your own)`
      : `  admin key         the one you set in RENEWD_ADMIN_KEY (or printed at the first start)`,
    '',
  ];
  console.log(lines.filter((l) => l !== '').join('\n'));
  const shutdown = async (sig: string) => {
    console.log(`${sig}: finishing work in flight…`);
    await svc.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

async function isFresh(config: Config): Promise<boolean> {
  const db = await openDb(config);
  await migrate(db);
  const plans = await planCount(db);
  await db.close();
  return plans === 0;
}

async function worker() {
  const config = loadConfig();
  requireGateway(config, 'worker');
  if (!config.databaseUrl)
    console.warn('renewd worker: no DATABASE_URL; using PGlite (one process per data directory; for evaluation and small installs: survives a process crash, not a power loss)');
  const svc = await startService({ ...config, gateway: config.gateway }, { listen: false, worker: true });
  console.log(`renewd worker running (batch ${config.batchSize}, ${config.concurrency} gateway calls in flight, gateway: ${svc.sandboxUrl ? `the SANDBOX PSP at ${svc.sandboxUrl}, test cards, no real money` : 'Stripe'})`);
  const shutdown = async () => {
    await svc.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof UsageError ? err.message : `renewd: ${err instanceof Error ? err.message : err}`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
