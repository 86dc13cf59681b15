// Prints the mutation score per file from Stryker's JSON reports (reports/mutation/<scope>.json),
// counting mutants listed as equivalent in docs/MUTATION.md (`file:line:column` in its
// "Equivalent mutants" table) apart: score = killed ÷ (mutants − equivalent − ignored − invalid).
// Usage: node scripts/mutation-summary.mjs [scope…]   (default: every report there is)
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const dir = 'reports/mutation';
const scopes = process.argv.slice(2).length ? process.argv.slice(2) : existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json") && !f.endsWith("-incremental.json")).map((f) => f.slice(0, -5)) : [];
const equivalent = new Set(
  existsSync('docs/MUTATION.md')
    ? [...readFileSync('docs/MUTATION.md', 'utf8').matchAll(/^\| `([^`]+:\d+:\d+)` \|/gm)].map((m) => m[1])
    : [],
);
const KILLED = new Set(['Killed', 'Timeout']);
const rows = [];
for (const scope of scopes) {
  const report = JSON.parse(readFileSync(`${dir}/${scope}.json`, 'utf8'));
  for (const [file, { mutants }] of Object.entries(report.files)) {
    // As Stryker scores: a mutant that does not compile, or stops the module from loading (every
    // test file importing it fails before a test runs: RuntimeError), is not a valid mutant.
    const counted = mutants.filter((m) => m.status !== 'Ignored' && m.status !== 'CompileError' && m.status !== 'RuntimeError');
    const eq = counted.filter((m) => m.status !== 'Killed' && equivalent.has(`${file}:${m.location.start.line}:${m.location.start.column}`));
    const killed = counted.filter((m) => KILLED.has(m.status)).length;
    const survivors = counted.filter((m) => !KILLED.has(m.status) && !eq.includes(m));
    const score = (100 * killed) / Math.max(1, counted.length - eq.length);
    rows.push({ scope, file, mutants: counted.length, killed, equivalent: eq.length, survived: survivors.length, score });
  }
}
console.log('| scope | file | mutants | killed | equivalent | not killed | score |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.scope} | ${r.file} | ${r.mutants} | ${r.killed} | ${r.equivalent} | ${r.survived} | ${r.score.toFixed(1)} % |`);
