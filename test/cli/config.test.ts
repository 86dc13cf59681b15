// Issue 16 item 11: the whole environment is validated at start. A value that is not accepted is
// named with the values it takes (all of them at once), never guessed (RENEWD_TEST_CLOCK=ture is
// not "off") nor left to crash later (LOG_LEVEL=verbose hung after a pino error); every variable
// loadConfig reads is in the README's table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../../src/config.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  return [];
}

test('defaults from an empty environment', () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.testClock, false);
  assert.equal(c.logLevel, 'info');
  assert.equal(c.gateway, 'sandbox');
  assert.equal(c.workerIntervalMs, 1000);
  assert.equal(c.seed, true);
  // Empty is unset.
  assert.deepEqual(loadConfig({ PORT: '', RENEWD_TEST_CLOCK: '', LOG_LEVEL: '' }), c);
});

test('invoice documents: series prefixes, seller and tax rate', () => {
  assert.deepEqual(loadConfig({}).documents, { invoicePrefix: 'RNW', creditNotePrefix: 'RNC', seller: { name: 'renewd', address: null, vat_id: null }, taxRateBp: 0 });
  const c = loadConfig({ RENEWD_INVOICE_PREFIX: 'ACME-FR', RENEWD_CREDIT_NOTE_PREFIX: 'AV', RENEWD_SELLER_NAME: 'ACME SAS', RENEWD_SELLER_ADDRESS: '1 rue X | 75001 Paris', RENEWD_SELLER_VAT_ID: 'FR12345678901', RENEWD_TAX_RATE: '8.1' });
  assert.deepEqual(c.documents, { invoicePrefix: 'ACME-FR', creditNotePrefix: 'AV', seller: { name: 'ACME SAS', address: '1 rue X\n75001 Paris', vat_id: 'FR12345678901' }, taxRateBp: 810 });
  assert.equal(loadConfig({ RENEWD_TAX_RATE: '20' }).documents.taxRateBp, 2000);
});

const REFUSED: [Record<string, string>, RegExp][] = [
  [{ PORT: 'abc' }, /^PORT="abc" is not accepted: a whole number from 0 to 65535$/],
  [{ PORT: '70000' }, /^PORT="70000" is not accepted: a whole number from 0 to 65535$/],
  [{ PORT: '-1' }, /^PORT="-1"/],
  [{ PORT: '80.5' }, /^PORT="80.5"/],
  [{ LOG_LEVEL: 'verbose' }, /^LOG_LEVEL="verbose" is not accepted: one of fatal, error, warn, info, debug, trace, silent$/],
  [{ RENEWD_TEST_CLOCK: 'ture' }, /^RENEWD_TEST_CLOCK="ture" is not accepted: use 1, true, yes, on \(on\) or 0, false, no, off \(off\)$/],
  [{ RENEWD_WORKER: 'maybe' }, /^RENEWD_WORKER="maybe"/],
  [{ RENEWD_INVOICE_PREFIX: 'inv' }, /^RENEWD_INVOICE_PREFIX="inv" is not accepted: 1 to 16 capital letters/],
  [{ RENEWD_CREDIT_NOTE_PREFIX: 'CN-' }, /^RENEWD_CREDIT_NOTE_PREFIX="CN-"/],
  [{ RENEWD_INVOICE_PREFIX: 'RNC' }, /^RENEWD_INVOICE_PREFIX and RENEWD_CREDIT_NOTE_PREFIX are both "RNC"/],
  [{ RENEWD_TAX_RATE: '20%' }, /^RENEWD_TAX_RATE="20%" is not accepted: a percentage from 0 to 100/],
  [{ RENEWD_TAX_RATE: '100.5' }, /^RENEWD_TAX_RATE="100.5"/],
  [{ RENEWD_TAX_RATE: '8.125' }, /^RENEWD_TAX_RATE="8.125"/],
  [{ RENEWD_SEED: '2' }, /^RENEWD_SEED="2"/],
  [{ RENEWD_WEBHOOK_ALLOW_PRIVATE: 'y' }, /^RENEWD_WEBHOOK_ALLOW_PRIVATE="y"/],
  [{ RENEWD_GATEWAY: 'paypal' }, /^RENEWD_GATEWAY="paypal" is not accepted: one of sandbox, stripe$/],
  [{ RENEWD_GATEWAY: 'stripe' }, /^RENEWD_GATEWAY=stripe needs STRIPE_API_KEY/],
  [{ RENEWD_WORKER_INTERVAL_MS: '0' }, /^RENEWD_WORKER_INTERVAL_MS="0" is not accepted: a whole number from 1 to any size$/],
  [{ RENEWD_BATCH_SIZE: 'lots' }, /^RENEWD_BATCH_SIZE="lots"/],
  [{ RENEWD_CONCURRENCY: '0' }, /^RENEWD_CONCURRENCY="0"/],
  [{ RENEWD_SANDBOX_PORT: '1e3' }, /^RENEWD_SANDBOX_PORT="1e3"/],
  [{ RENEWD_TEST_CLOCK_START: 'yesterday' }, /^RENEWD_TEST_CLOCK_START="yesterday" is not accepted: an ISO 8601 time/],
  [{ RENEWD_PUBLIC_URL: 'billing.example.com' }, /^RENEWD_PUBLIC_URL="billing.example.com" is not accepted: a URL starting http:\/\/ or https:\/\/$/],
  [{ DATABASE_URL: 'mysql://root:hunter2@db/renewd' }, /^DATABASE_URL="mysql:\/\/root:\*\*\*@db\/renewd" is not accepted: a URL starting postgres:\/\/ or postgresql:\/\/$/],
  [{ SMTP_URL: 'mail.example.com:587' }, /^SMTP_URL="mail.example.com:587" is not accepted: a URL starting smtp:\/\/ or smtps:\/\/$/],
  [{ STRIPE_API_BASE: 'ftp://x' }, /^STRIPE_API_BASE=/],
  [{ RENEWD_SANDBOX_URL: 'localhost:12111' }, /^RENEWD_SANDBOX_URL=/],
  [{ RENEWD_OPERATOR_EMAIL: 'ops' }, /^RENEWD_OPERATOR_EMAIL="ops" is not accepted: an e-mail address$/],
  [{ RENEWD_HEADERS_TIMEOUT_MS: '40000' }, /^RENEWD_HEADERS_TIMEOUT_MS \(40000\) must not exceed RENEWD_REQUEST_TIMEOUT_MS \(30000\)/],
  [{ RENEWD_MAX_CONNECTIONS: 'none' }, /^RENEWD_MAX_CONNECTIONS="none"/],
  [{ RENEWD_KEEP_ALIVE_TIMEOUT_MS: '0' }, /^RENEWD_KEEP_ALIVE_TIMEOUT_MS="0"/],
];

for (const [env, problem] of REFUSED)
  test(`refused: ${JSON.stringify(env)}`, () => {
    const problems = problemsOf(env);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0], problem);
    assert.ok(!problems[0].includes('hunter2'), 'a password in a URL is not repeated');
  });

test('yes/no values: every accepted spelling, any case', () => {
  for (const v of ['1', 'true', 'YES', 'On']) assert.equal(loadConfig({ RENEWD_TEST_CLOCK: v }).testClock, true, v);
  for (const v of ['0', 'false', 'No', 'OFF']) assert.equal(loadConfig({ RENEWD_TEST_CLOCK: v }).testClock, false, v);
});

test('every problem is named at once', () => {
  const problems = problemsOf({ PORT: 'abc', LOG_LEVEL: 'verbose', RENEWD_TEST_CLOCK: 'ture' });
  assert.deepEqual(problems.map((p) => p.split('=')[0]).sort(), ['LOG_LEVEL', 'PORT', 'RENEWD_TEST_CLOCK']);
});

test('renewd refuses to start with a bad environment: exit 1 at once, every problem on stderr', { timeout: 30_000 }, async () => {
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
    execFile(process.execPath, ['--no-deprecation', 'src/cli/main.ts', 'start'], { env: { ...process.env, PORT: 'abc', LOG_LEVEL: 'verbose', RENEWD_TEST_CLOCK: 'ture' }, timeout: 20_000 }, (err, _out, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
    ),
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^renewd: the configuration is not valid:\n {2}PORT="abc" is not accepted/);
  assert.match(r.stderr, /LOG_LEVEL="verbose" is not accepted: one of fatal, error, warn, info, debug, trace, silent/);
  assert.match(r.stderr, /RENEWD_TEST_CLOCK="ture" is not accepted/);
});

test('the README documents every variable loadConfig reads', () => {
  const source = readFileSync('src/config.ts', 'utf8');
  const read = new Set([...source.matchAll(/r\.(?:raw|str|bool|int|oneOf|url|time|prefix|rate)\('([A-Z_]+)'/g)].map((m) => m[1]));
  assert.ok(read.size >= 25, `found ${read.size}`);
  const readme = readFileSync('README.md', 'utf8');
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Commands'));
  const missing = [...read].filter((v) => !table.includes(`\`${v}\``));
  assert.deepEqual(missing, []);
});
