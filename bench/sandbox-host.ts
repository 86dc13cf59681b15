// The sandbox PSP in its own process for the benchmark (as a real PSP would be: its CPU is not the
// workers'). It bulk-loads the bench customers and cards in-process, under the references the
// seeded database holds (cus_bench_<i>, pm_bench_ok_<i> / pm_bench_insufficient_funds_<i>).
//
// The sandbox has no bulk-load hook yet, so this creates each customer and card through the PSP's
// own TypeScript methods (validation, brand, fingerprint, behaviour) and then renames the records
// to the bench references by reaching into its private maps. See bench/README.md ("sandbox hook").
import { createSandbox } from '../src/sandbox/server.ts';
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
  const psp = sandbox.psp as any;
  const customers: Map<string, any> | undefined = psp.customers;
  const pms: Map<string, any> | undefined = psp.pms;
  if (!(customers instanceof Map) || !(pms instanceof Map))
    throw new Error('sandbox internals changed: the benchmark needs a bulk-load hook (see bench/README.md, "sandbox hook")');
  const form = (o: Record<string, unknown>) => o as any;
  for (let i = 1; i <= p.count; i++) {
    const decline = p.declineEvery > 0 && i <= p.due && i % p.declineEvery === 0;
    const cusId = `cus_bench_${i}`;
    const pmId = decline ? `pm_bench_insufficient_funds_${i}` : `pm_bench_ok_${i}`;
    const c = psp.createCustomer(form({ email: `b${i}@bench.example.com`, name: `Bench customer ${i}`, metadata: { renewd_account_id: `acct_b${String(i).padStart(8, '0')}` } }));
    rekey(customers, c.id, cusId);
    const pm = psp.createPaymentMethod(form({ type: 'card', card: { number: decline ? '4000000000009995' : '4242424242424242', exp_month: '12', exp_year: '2099', cvc: '123' } }));
    rekey(pms, pm.id, pmId);
    psp.attachPaymentMethod(pmId, form({ customer: cusId }));
  }
  if (p.count > 0 && !psp.hasCustomer(`cus_bench_${p.count}`)) throw new Error('sandbox bulk load failed');
}

function rekey(map: Map<string, any>, from: string, to: string) {
  const rec = map.get(from);
  if (!rec) throw new Error(`sandbox internals changed: ${from} not found after creation`);
  map.delete(from);
  rec.id = to;
  map.set(to, rec);
}
