// The short form of the chaos run, in npm test: ~2,000 renewals over a billing day and the month
// after it, 3 worker processes killed with SIGKILL at random moments and restarted, the sandbox
// injecting timeouts, 5xx and outage windows; then zero violations of the invariants, zero double
// charges, zero lost renewals, zero lost e-mails. (No PostgreSQL restart here: other test files
// share the server. `npm run chaos` runs the long form with one.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos, formatReport, SHORT } from './harness.ts';

test('chaos: billing day with killed workers and a faulty gateway keeps every invariant', { timeout: 170_000 }, async () => {
  const report = await runChaos({ ...SHORT, log: () => {} });
  console.log(formatReport(report));
  assert.equal(report.failed, 0, report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('\n'));
  assert.ok(Number(report.figures.renewals) >= 1900, `renewals: ${report.figures.renewals}`);
});
