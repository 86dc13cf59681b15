// `renewd policy backtest`'s output: the comparison table (core/backtest.ts comparisonTable, the
// same rows as the console page) as plain text, the causes, and what the figures mean.
import { comparisonTable } from '../core/backtest.ts';
import type { BacktestReport } from '../engine/backtest.ts';

const day = (d: Date) => d.toISOString().slice(0, 10);

export function formatBacktest(r: BacktestReport, name: string): string {
  const table = comparisonTable(r, 'candidate');
  const all = [table.columns, ...table.rows.map((row) => [row.label, ...row.cells])];
  const widths = table.columns.map((_, i) => Math.max(...all.map((line) => line[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [
    `Policy backtest of ${name}: renewals that failed ${day(r.since)} – ${day(r.until)} (${r.since_days} days)`,
    'ESTIMATES: every figure of a policy is an estimate from the recorded automatic retries (95 % ranges in brackets);',
    'the "recorded" column is what happened.',
    '',
    line(table.columns),
    line(widths.map((w) => '-'.repeat(w))),
    ...table.rows.map((row) => line([row.label, ...row.cells])),
    '',
  ];
  if (!r.candidate) out.push(`No estimate: too little data (fewer than ${r.min_observations} recorded automatic retries per cause, or attempts beyond the recorded ones).`, '');
  out.push(`Left out: ${r.left_out_open} still in grace or voided; ${r.left_out_thin} whose cause has too little data.`);
  out.push('', 'By cause (recorded automatic retries):');
  for (const c of r.causes) {
    const rate = c.rate ? `estimated success ${(c.rate.value * 100).toFixed(1)} % (${(c.rate.low * 100).toFixed(1)}–${(c.rate.high * 100).toFixed(1)} %)` : `no rate (fewer than ${r.min_observations} recorded)`;
    out.push(`  ${c.cause}: ${c.renewals} failed renewal${c.renewals === 1 ? '' : 's'}, ${c.observations} automatic retr${c.observations === 1 ? 'y' : 'ies'}, ${rate}${c.insufficient_data ? ` — insufficient data, not estimated: ${c.insufficient_data}` : ''}`);
  }
  return out.join('\n');
}
