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

const REFUSED: [Record<string, string>, RegExp][] = [
  [{ PORT: 'abc' }, /^PORT="abc" is not accepted: a whole number from 0 to 65535$/],
  [{ PORT: '70000' }, /^PORT="70000" is not accepted: a whole number from 0 to 65535$/],
  [{ PORT: '-1' }, /^PORT="-1"/],
  [{ PORT: '80.5' }, /^PORT="80.5"/],
  [{ LOG_LEVEL: 'verbose' }, /^LOG_LEVEL="verbose" is not accepted: one of fatal, error, warn, info, debug, trace, silent$/],
  [{ RENEWD_TEST_CLOCK: 'ture' }, /^RENEWD_TEST_CLOCK="ture" is not accepted: use 1, true, yes, on \(on\) or 0, false, no, off \(off\)$/],
  [{ RENEWD_WORKER: 'maybe' }, /^RENEWD_WORKER="maybe"/],
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
  const read = new Set([...source.matchAll(/r\.(?:raw|str|bool|int|oneOf|url|time)\('([A-Z_]+)'/g)].map((m) => m[1]));
  assert.ok(read.size >= 25, `found ${read.size}`);
  const readme = readFileSync('README.md', 'utf8');
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Commands'));
  const missing = [...read].filter((v) => !table.includes(`\`${v}\``));
  assert.deepEqual(missing, []);
});
