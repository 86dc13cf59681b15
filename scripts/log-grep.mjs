// The secrets grep of `npm test`: searches the log output of the whole suite — what the test
// runner printed (every test file's console output, the chaos workers' output) and the trace-level
// logs of every service the tests started (RENEWD_TEST_LOG_DIR, see test/helpers/suite-log.ts) —
// for card numbers (every test card of the sandbox, plain or in groups of four), CVC values, admin
// keys, portal tokens and gateway secret keys. Used by scripts/run-tests.mjs; also runnable by hand:
// `node scripts/log-grep.mjs <file or folder>…`.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every test card number the sandbox knows (src/sandbox/cards.ts), so the list never drifts. */
function cardNumbers() {
  const src = readFileSync(new URL('../src/sandbox/cards.ts', import.meta.url), 'utf8');
  return [...new Set([...src.matchAll(/'(\d{13,19})'/g)].map((m) => m[1]))];
}

/** Admin keys the tests use (constants), and the shapes of generated secrets. */
const LITERALS = ['rk_test_admin_key_for_tests_only', 'rk_admin_L0gSecretKey_do_not_print_9f3b2c'];
const PATTERNS = [
  { what: 'an admin key', re: /\brk_admin_[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])/ },
  { what: 'a portal token', re: /\bps_[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])/ },
  { what: 'an e-mail link token', re: /\brl_[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])/ },
  { what: 'a gateway secret key', re: /\bsk_(?:test|live)_[A-Za-z0-9_]{2,}/ },
  { what: 'a CVC value', re: /"cvc"\s*:\s*"?\d|\bcvc=\d/i },
];

/**
 * Finds secrets in `text`. `allowLine` skips lines that are not log output (the runner's test
 * titles, which may name a test card: "4000000000000127 (incorrect_cvc) is refused when saved").
 */
export function findSecrets(text, source, allowLine = () => false) {
  const found = [];
  const cards = cardNumbers();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (allowLine(line)) continue;
    const hit = (what) => found.push(`${source}:${i + 1}: ${what}: ${line.trim().slice(0, 160)}`);
    for (const n of cards) {
      if (line.includes(n)) hit(`card number ${n}`);
      else if (n.length === 16 && line.includes(`${n.slice(0, 4)} ${n.slice(4, 8)} ${n.slice(8, 12)} ${n.slice(12)}`)) hit(`card number ${n} (grouped)`);
    }
    for (const k of LITERALS) if (line.includes(k)) hit('an admin key of the tests');
    for (const p of PATTERNS) if (p.re.test(line)) hit(p.what);
  }
  return found;
}

/** Test titles in the spec reporter's output: "✔ title (12.3ms)", "✖ title", "▶ suite", "﹣ title # SKIP". */
export const isTestTitle = (line) => /^\s*(?:[✔✖▶﹣]|ok \d|not ok \d|# Subtest:)/u.test(line) && !/[{"]/.test(line);

function files(p) {
  return statSync(p).isDirectory() ? readdirSync(p).flatMap((f) => files(join(p, f))) : [p];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const found = [];
  let lines = 0;
  for (const f of process.argv.slice(2).flatMap(files)) {
    const text = readFileSync(f, 'utf8');
    lines += text.split('\n').length;
    found.push(...findSecrets(text, f));
  }
  console.log(`log grep: ${lines} lines searched, ${found.length} secrets found`);
  for (const x of found.slice(0, 50)) console.log(`  ${x}`);
  process.exit(found.length ? 1 : 0);
}
