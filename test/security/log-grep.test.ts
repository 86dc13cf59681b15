// The secrets grep that ends `npm test` (scripts/log-grep.mjs): it must find what it looks for in
// log lines, and skip only the runner's test titles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findSecrets, isTestTitle } from '../../scripts/log-grep.mjs';

test('the suite log grep finds card numbers, CVCs, admin keys, portal tokens and gateway keys', () => {
  const lines = [
    '{"level":30,"msg":"card 4000000000009995 declined"}',
    '{"level":30,"body":"number 4242 4242 4242 4242"}',
    '{"card":{"cvc":"123"}}',
    'POST /portal/payment-method number=x&cvc=9731',
    'admin key rk_admin_abcdefghijklmnopqrstuvwxyz012345',
    'Authorization: Bearer rk_test_admin_key_for_tests_only',
    'GET /portal?token=ps_abcdefghijklmnopqrstuvwxyz012345',
    'stripe key sk_live_51Habc',
  ];
  const found = findSecrets(lines.join('\n'), 'log');
  assert.equal(found.length, lines.length, found.join('\n'));
  for (let i = 0; i < lines.length; i++) assert.ok(found.some((f) => f.startsWith(`log:${i + 1}:`)), `line ${i + 1} not found: ${lines[i]}`);
  // Harmless lines: redacted URLs, last four digits, hashes, the card's brand.
  const clean = ['GET /portal?token=[redacted]', '{"last4":"4242","brand":"visa"}', 'key_hash 3f0a…', '"cvc_check":"pass"', 'ps_short'];
  assert.deepEqual(findSecrets(clean.join('\n'), 'log'), []);
});

test('only test titles are skipped, never log lines', () => {
  const title = '✔ 4000000000000127 (incorrect_cvc) is refused when saved (12.3ms)';
  assert.ok(isTestTitle(title));
  assert.deepEqual(findSecrets(title, 'out', isTestTitle), []);
  const logLine = '{"msg":"✔ 4000000000000127"}';
  assert.ok(!isTestTitle(logLine));
  assert.equal(findSecrets(`${title}\n${logLine}`, 'out', isTestTitle).length, 1);
});
