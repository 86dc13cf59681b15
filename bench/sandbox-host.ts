// The sandbox PSP in its own process for the benchmark (as a real PSP would be: its CPU is not the
// workers'). It bulk-loads the bench customers and cards in-process, under the references the
// seeded database holds (cus_bench_<i>, pm_bench_ok_<i> / pm_bench_insufficient_funds_<i>).
//
// The customers and cards go in through the sandbox's own bulk load (`sandbox.load`: the same
// validation, brand, fingerprint and decline behaviour as cards created through its API).
import { createSandbox } from '../src/sandbox/server.ts';
import type { SandboxLoad } from '../src/sandbox/psp.ts';
import { onParent, toParent } from './lib/util.ts';

interface Params {
  latencyMs: number;
  /** Bench accounts 1..count; decline cards for i % declineEvery === 0 when i <= due. */
  count: number;
  due: number;
  declineEvery: number;
}

const p: Params = (await onParent('params')).params;
const sandbox = createSandbox({ latencyMs: p.latencyMs });
const t0 = performance.now();
bulkLoad(p);
const loadMs = performance.now() - t0;
const url = await sandbox.listen(0, '127.0.0.1');
toParent({ type: 'ready', url, loadMs });

process.on('message', (m: any) => {
  if (m?.type === 'stats') toParent({ type: 'stats', stats: sandbox.stats() });
  if (m?.type === 'latency') {
    sandbox.setFaults({ latencyMs: m.latencyMs });
    toParent({ type: 'latency-set' });
  }
});
await onParent('exit');
await sandbox.close();
process.exit(0);

function bulkLoad(p: Params) {
  const customers: NonNullable<SandboxLoad['customers']> = [];
  const cards: NonNullable<SandboxLoad['cards']> = [];
  for (let i = 1; i <= p.count; i++) {
    const decline = p.declineEvery > 0 && i <= p.due && i % p.declineEvery === 0;
    const customer = `cus_bench_${i}`;
    customers.push({ id: customer, email: `b${i}@bench.example.com`, name: `Bench customer ${i}`, metadata: { renewd_account_id: `acct_b${String(i).padStart(8, '0')}` } });
    cards.push({ id: decline ? `pm_bench_insufficient_funds_${i}` : `pm_bench_ok_${i}`, customer, number: decline ? '4000000000009995' : '4242424242424242', exp_month: 12, exp_year: 2099, cvc: '123' });
  }
  const loaded = sandbox.load({ customers, cards });
  if (loaded.customers !== p.count || loaded.cards !== p.count) throw new Error(`sandbox bulk load: ${JSON.stringify(loaded)} for ${p.count}`);
}
