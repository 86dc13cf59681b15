// `npm run chaos`: the long form of the chaos run (≥ 50,000 renewals, PostgreSQL restarted once).
// Options: --subscriptions N  --workers N  --seed N  --no-pg-restart  --short (the npm test size).
// Needs the PostgreSQL server of TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)
// and, for the restart, pg_ctlcluster on this machine. Exit code 1 when a check fails.
import { parseArgs } from 'node:util';
import { runChaos, formatReport, LONG, SHORT } from './harness.ts';

const { values } = parseArgs({
  options: {
    subscriptions: { type: 'string' },
    workers: { type: 'string' },
    seed: { type: 'string' },
    short: { type: 'boolean' },
    'no-pg-restart': { type: 'boolean' },
  },
});
const base = values.short ? SHORT : LONG;
const opts = {
  ...base,
  subscriptions: values.subscriptions ? Number(values.subscriptions) : base.subscriptions,
  // Another size expects renewals in proportion (≈ 1.6–1.8 per subscription over the two months).
  minRenewals: values.subscriptions ? Math.floor(Number(values.subscriptions) * 1.6) : base.minRenewals,
  workers: values.workers ? Number(values.workers) : base.workers,
  seed: values.seed ? Number(values.seed) : base.seed,
  restartPostgres: values['no-pg-restart'] ? false : base.restartPostgres,
  log: (line: string) => console.log(line),
};

try {
  const report = await runChaos(opts);
  console.log(formatReport(report));
  process.exitCode = report.failed ? 1 : 0;
} catch (err) {
  console.error(`chaos run aborted: ${err instanceof Error ? err.stack : err}`);
  console.log('0 passed, 1 failed');
  process.exitCode = 1;
}
// Workers and pools are closed by the harness; nothing should keep the process alive, but make sure.
setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
