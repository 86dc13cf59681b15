// Growth: (a) the time to renew 10,000 due subscriptions with 0 and with 1,000,000 not-due
// subscriptions in the same tables (the partial index on next_action_at should make the second
// cost no more: ratio ≤ 1.2); (b) renewals/s as N grows (10k, 100k, 1M opt-in), as a ratio to 10k.
// Engine runs: the 0 ms billing-day configuration, sandbox PSP over HTTP, 10% declines, verified.
import { createDatabase, dropDatabase, PREFIX, seedDatabase, verifyRun } from '../lib/pg.ts';
import { runGroup } from '../lib/run.ts';
import { log, median, fmt } from '../lib/util.ts';
import { startSandbox, configsFor } from './billing.ts';
import type { Options } from '../main.ts';

export interface GrowthResult {
  due: number;
  notDue: number;
  workers: number;
  runs: { round: number; emptyMs: number; fullMs: number; ratio: number }[];
  scaling: { n: number; runs: number[]; perSecond: number; vs10k: number }[];
  summary: { emptyMs: number; fullMs: number; ratio: number; verified: boolean };
}

const DECLINE_EVERY = 10;

async function engineRun(o: Options, tpl: string, copyName: string, due: number, label: string, workers: number) {
  const c = { ...configsFor({ ...o, latencies: [0], workers: [workers] })[0] };
  const sb = await startSandbox(0, due, due, DECLINE_EVERY);
  const url = await createDatabase(copyName, tpl);
  try {
    const r = await runGroup({
      module: 'worker.ts',
      count: workers,
      total: due,
      label,
      params: () => ({ url, sandboxUrl: sb.url, lanes: c.lanes, batchSize: c.batchSize, concurrency: c.concurrency, poolMax: c.lanes * 2 + 2, maxSockets: o.maxSockets ?? c.lanes * Math.min(c.batchSize, c.concurrency) }),
    });
    const v = await verifyRun(url, due, DECLINE_EVERY, new Date());
    if (!v.ok) log(`!!! ${label}: VERIFICATION FAILED: ${v.problems.join('; ')}`);
    return { ...r, verified: v.ok };
  } finally {
    sb.child.send({ type: 'exit' });
    await sb.child.kill();
    await dropDatabase(copyName);
  }
}

export async function runGrowth(o: Options): Promise<GrowthResult> {
  const due = o.growthDue;
  const notDue = o.growthNotDue;
  const workers = 1;
  const now = new Date();
  const empty = `${PREFIX}_growth_empty`;
  const full = `${PREFIX}_growth_full`;
  await seedDatabase(empty, { due, notDue: 0, declineEvery: DECLINE_EVERY, now }, 'growth seed (0 not due)');
  await seedDatabase(full, { due, notDue, declineEvery: DECLINE_EVERY, now }, `growth seed (${fmt(notDue)} not due)`);
  const runs: GrowthResult['runs'] = [];
  let verified = true;
  let k = 0;
  try {
    for (let round = 1; round <= o.runs; round++) {
      const order = round % 2 ? [empty, full] : [full, empty];
      const ms: Record<string, number> = {};
      for (const tpl of order) {
        const r = await engineRun(o, tpl, `${PREFIX}_growth_run${++k}`, due, `growth ${round}/${o.runs} ${tpl === full ? fmt(notDue) + ' not due' : '0 not due'}`, workers);
        verified &&= r.verified;
        ms[tpl] = r.ms;
      }
      runs.push({ round, emptyMs: ms[empty], fullMs: ms[full], ratio: ms[full] / ms[empty] });
      log(`growth ${round}/${o.runs}: ${fmt(due)} due renewed in ${(ms[empty] / 1000).toFixed(2)} s with 0 not due, ${(ms[full] / 1000).toFixed(2)} s with ${fmt(notDue)} not due (×${(ms[full] / ms[empty]).toFixed(2)})`);
    }
  } finally {
    await dropDatabase(full);
  }

  // Renewals/s as N grows, ratio to the 10k point of the same round.
  const points = o.scalingPoints;
  const tpls = new Map<number, string>();
  const scaling = points.map((n) => ({ n, runs: [] as number[], perSecond: NaN, vs10k: NaN }));
  const ratios = points.map(() => [] as number[]);
  try {
    for (const n of points) {
      const name = `${PREFIX}_scale_${n}`;
      if (n === due) tpls.set(n, empty);
      else {
        await seedDatabase(name, { due: n, declineEvery: DECLINE_EVERY, now }, `scaling seed N=${fmt(n)}`);
        tpls.set(n, name);
      }
    }
    for (let round = 1; round <= o.runs; round++) {
      const rates: number[] = [];
      for (const [i, n] of points.entries()) {
        const r = await engineRun(o, tpls.get(n)!, `${PREFIX}_scale_run${++k}`, n, `scaling ${round}/${o.runs} N=${fmt(n)}`, 2);
        verified &&= r.verified;
        scaling[i].runs.push(r.perSecond);
        rates.push(r.perSecond);
      }
      rates.forEach((r, i) => ratios[i].push(r / rates[0]));
      log(`scaling ${round}/${o.runs}: ${points.map((n, i) => `N=${fmt(n)} ${fmt(rates[i])}/s`).join(', ')}`);
    }
  } finally {
    for (const t of new Set(tpls.values())) await dropDatabase(t);
    await dropDatabase(empty);
  }
  for (const [i, s] of scaling.entries()) {
    s.perSecond = median(s.runs);
    s.vs10k = median(ratios[i]);
  }
  return {
    due,
    notDue,
    workers,
    runs,
    scaling,
    summary: { emptyMs: median(runs.map((r) => r.emptyMs)), fullMs: median(runs.map((r) => r.fullMs)), ratio: median(runs.map((r) => r.ratio)), verified },
  };
}
