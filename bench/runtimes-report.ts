// Reads bench/results/runtimes/{old,new}-N.json (written by bench/runtimes.sh) and prints, per
// figure, the median of each runtime, the ratio new/old, and each runtime's median ratio to the
// reference measured in the same run, so a machine that was busier in one run shows as such.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2] ?? 'bench/results/runtimes';
const load = (side: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith(`${side}-`) && f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

type Run = any;
interface Figure {
  name: string;
  value: (r: Run) => number;
  reference?: (r: Run) => number;
  unit: string;
  higherIsBetter: boolean;
}
const billing = (r: Run) => r.billing?.runs?.[0];
const access = (r: Run) => r.access?.runs?.[0];
const memory = (r: Run) => r.memory?.runs?.[0];
const FIGURES: Figure[] = [
  { name: 'billing day, renewals/s', value: (r) => billing(r)?.engine.perSecond, reference: (r) => billing(r)?.sql.perSecond, unit: '/s', higherIsBetter: true },
  { name: 'billing day, worker CPU ms per renewal', value: (r) => (billing(r) ? (billing(r).engine.cpuS.reduce((a: number, b: number) => a + b, 0) * 1000) / billing(r).engine.n : NaN), unit: 'ms', higherIsBetter: false },
  { name: 'billing day, worker peak RSS', value: (r) => (billing(r) ? Math.max(...billing(r).engine.peakRssMb) : NaN), unit: 'MB', higherIsBetter: false },
  { name: 'access check, requests/s', value: (r) => access(r)?.renewd.requestsPerSecond, reference: (r) => access(r)?.bare.requestsPerSecond, unit: '/s', higherIsBetter: true },
  { name: 'access check, p99', value: (r) => access(r)?.renewd.p99, unit: 'ms', higherIsBetter: false },
  { name: 'demo idle RSS', value: (r) => memory(r)?.demoIdleRssMb, reference: (r) => memory(r)?.bareIdleRssMb, unit: 'MB', higherIsBetter: false },
  { name: 'demo start', value: (r) => memory(r)?.demoStartS, unit: 's', higherIsBetter: false },
];

const oldRuns = load('old');
const newRuns = load('new');
const f = (x: number, d = 2) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(d)) : '–');
const nodeOf = (runs: Run[]) => runs[0]?.machine?.node ?? '?';
console.log(`# Runtimes compared (bench/runtimes.sh; ${oldRuns.length} + ${newRuns.length} runs, alternating)\n`);
console.log(`Old: Node.js ${nodeOf(oldRuns)} · new: Node.js ${nodeOf(newRuns)} · command: ${newRuns[0]?.command ?? ''}\n`);
console.log('| figure | old (median) | new (median) | new / old | old vs its reference | new vs its reference |');
console.log('|---|---|---|---|---|---|');
for (const fig of FIGURES) {
  const o = median(oldRuns.map(fig.value));
  const n = median(newRuns.map(fig.value));
  if (!Number.isFinite(o) && !Number.isFinite(n)) continue;
  const refRatio = (runs: Run[]) => (fig.reference ? median(runs.map((r) => fig.value(r) / fig.reference!(r))) : NaN);
  const ratio = n / o;
  const worse = fig.higherIsBetter ? ratio < 0.95 : ratio > 1.05;
  console.log(`| ${fig.name} | ${f(o)} ${fig.unit} | ${f(n)} ${fig.unit} | ${f(ratio)}${worse ? ' (worse)' : ''} | ${f(refRatio(oldRuns))} | ${f(refRatio(newRuns))} |`);
}
