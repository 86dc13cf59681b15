// Issue 16 item 11: the whole environment is validated at start. A value that is not accepted is
// named with the values it takes (all of them at once), never guessed (RENEWD_TEST_CLOCK=ture is
// not "off") nor left to crash later (LOG_LEVEL=verbose hung after a pino error); every variable
// loadConfig reads is in the README's table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, requireGateway } from '../../src/config.ts';

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
  assert.equal(c.gatewayChosen, false, 'the sandbox by default is not a choice: only --demo may run on it');
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
  // Issue 19: the gateway's pace — 0, negative, not a number, above the gateway's documented limit.
  [{ RENEWD_GATEWAY_RATE: '0' }, /^RENEWD_GATEWAY_RATE="0" is not accepted: requests per second for the whole installation, more than 0 and at most 100 \(Stripe's live-mode limit, which the sandbox emulates\)$/],
  [{ RENEWD_GATEWAY_RATE: '-5' }, /^RENEWD_GATEWAY_RATE="-5" is not accepted/],
  [{ RENEWD_GATEWAY_RATE: 'fast' }, /^RENEWD_GATEWAY_RATE="fast" is not accepted/],
  [{ RENEWD_GATEWAY_RATE: '101' }, /^RENEWD_GATEWAY_RATE="101" is not accepted: .* at most 100/],
  [{ STRIPE_API_KEY: 'sk_test_x', RENEWD_GATEWAY_RATE: '30' }, /^RENEWD_GATEWAY_RATE="30" is not accepted: .* at most 25 \(Stripe's test-mode limit\)$/],
  [{ STRIPE_API_KEY: 'sk_live_x', RENEWD_GATEWAY_RATE: '150' }, /^RENEWD_GATEWAY_RATE="150" is not accepted: .* at most 100 \(Stripe's live-mode limit\)$/],
];

test('the gateway pace: defaults with headroom under Stripe\'s limits, none for the sandbox unless set', () => {
  assert.equal(loadConfig({}).gatewayRate, null);
  assert.equal(loadConfig({ STRIPE_API_KEY: 'sk_live_x' }).gatewayRate, 80);
  assert.equal(loadConfig({ STRIPE_API_KEY: 'sk_test_x' }).gatewayRate, 20);
  assert.equal(loadConfig({ STRIPE_API_KEY: 'sk_live_x', RENEWD_GATEWAY_RATE: '95' }).gatewayRate, 95);
  assert.equal(loadConfig({ RENEWD_GATEWAY_RATE: '12.5' }).gatewayRate, 12.5);
});

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

test('a gateway is chosen by RENEWD_GATEWAY or STRIPE_API_KEY, and production needs one (issue 16)', () => {
  assert.throws(() => requireGateway(loadConfig({}), 'start'), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.problems[0], /no payment gateway is configured for `renewd start`: set STRIPE_API_KEY .* or RENEWD_GATEWAY=sandbox/);
    return true;
  });
  for (const env of [{ RENEWD_GATEWAY: 'sandbox' }, { STRIPE_API_KEY: 'sk_test_x' }, { RENEWD_GATEWAY: 'stripe', STRIPE_API_KEY: 'sk_live_x' }]) {
    const c = loadConfig(env);
    assert.equal(c.gatewayChosen, true, JSON.stringify(env));
    requireGateway(c, 'worker');
  }
  assert.equal(loadConfig({ STRIPE_API_KEY: 'sk_test_x' }).gateway, 'stripe');
  assert.equal(loadConfig({ RENEWD_SANDBOX_URL: 'http://127.0.0.1:12111' }).gatewayChosen, false, 'where a sandbox runs is not a choice of the sandbox');
});

const cli = (args: string[], env: Record<string, string | undefined>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, ['--no-deprecation', 'src/cli/main.ts', ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr })),
  );
const noGateway = () => {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const v of ['RENEWD_GATEWAY', 'STRIPE_API_KEY', 'DATABASE_URL']) delete env[v];
  return env;
};

test('renewd start and renewd worker without a gateway refuse at once, naming the variables', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'renewd-nogw-'));
  try {
    for (const cmd of ['start', 'worker']) {
      const r = await cli([cmd], { ...noGateway(), RENEWD_DATA_DIR: dir });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^renewd: the configuration is not valid:\n {2}no payment gateway is configured for \`renewd ${cmd}\`: set STRIPE_API_KEY`));
      assert.match(r.stderr, /RENEWD_GATEWAY=sandbox/);
      assert.doesNotMatch(r.stdout, /running/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('renewd start with RENEWD_GATEWAY=sandbox runs on the sandbox and says so, in the banner and the log', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'renewd-sbx-'));
  const child = spawn(process.execPath, ['--no-deprecation', 'src/cli/main.ts', 'start'], {
    env: { ...noGateway(), RENEWD_GATEWAY: 'sandbox', RENEWD_DATA_DIR: dir, PORT: '0', RENEWD_SANDBOX_PORT: '0', RENEWD_ADMIN_KEY: 'rk_test_config_admin_key_0123456789', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    await new Promise<void>((resolve, reject) => {
      const check = () => (out.includes('renewd is running on') ? resolve() : undefined);
      child.stdout.on('data', check);
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    assert.match(out, /gateway {11}the SANDBOX PSP at http:\/\/127\.0\.0\.1:\d+ — test cards, no real money\n {20}\(RENEWD_GATEWAY=sandbox; production: STRIPE_API_KEY\)/);
    assert.match(out, /"level":40,.*"gateway":"sandbox".*"msg":"gateway: the sandbox PSP \(test cards, no real money moves\)/);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
