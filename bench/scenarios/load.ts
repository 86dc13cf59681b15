// Load held (issue 21): `renewd start` on PostgreSQL (the API and the pages) with `renewd worker`
// processes running a billing day at the same time, under a mixed workload for a fixed time:
// access checks, portal pages, card updates, Retry presses and help requests (customers' portal
// tokens), and the webhook deliveries of the billing day to a local receiver. Reports requests/s
// and p50/p99 per kind, every 5xx (the goal is none), and checks afterwards that the billing day
// renewed every due subscription exactly once and that renewd verify, with the sandbox's list of
// charges, finds no money rule broken.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { dropDatabase, PREFIX, queryDb, seedDatabase, accountId } from '../lib/pg.ts';
import { freePort, log, progress, fmt, ROOT, sleep } from '../lib/util.ts';
import { startSandbox } from './billing.ts';
import { openPostgres } from '../../src/store/db.ts';
import { verifyInvariants } from '../../src/engine/verify.ts';
import type { Options } from '../main.ts';

export const LOAD_KINDS = ['access', 'portal_page', 'card_update', 'retry', 'help_request'] as const;
type Kind = (typeof LOAD_KINDS)[number];
/** Share of the workload's requests per kind (an integrator's access checks dominate). */
const WEIGHTS: Record<Kind, number> = { access: 60, portal_page: 15, card_update: 8, retry: 10, help_request: 7 };

export interface KindFigures {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** Answers by status class, and the 4xx by problem code (refusals the workload provokes on purpose). */
  status: Record<string, number>;
  codes4xx: Record<string, number>;
}

export interface LoadResult {
  durationS: number;
  /** The machine's 1-minute load average when the workers started (others' work included). */
  loadAverage: number;
  clients: number;
  workers: number;
  latencyMs: number;
  due: number;
  declineEvery: number;
  customers: number;
  kinds: Record<Kind | 'webhook_delivery', KindFigures>;
  total5xx: number;
  samples5xx: string[];
  billing: {
    ok: boolean;
    seconds: number;
    renewalsPerSecond: number;
    renewalInvoices: number;
    subscriptionsRenewedOnce: number;
    subscriptionsWithSeveralRenewals: number;
    paid: number;
    pastDue: number;
    attempts: number;
    problems: string[];
  };
  verify: { violations: number; byRule: Record<string, number>; gatewayCharges: number; paidInvoices: number };
}

const ADMIN_KEY = 'rk_bench_admin_key_0123456789abcdef';
const CLIENTS = 16;

function pct(xs: number[], p: number) {
  if (xs.length === 0) return NaN;
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))];
}

/** `renewd` (bin/renewd.js) as a child process with this environment; its output goes to stderr. */
function renewd(args: string[], env: Record<string, string>): ChildProcess {
  const p = spawn(process.execPath, ['--no-deprecation', path.join(ROOT, 'bin', 'renewd.js'), ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  p.stdout!.on('data', () => {}); // the banner; not needed
  return p;
}

async function stopProcess(p: ChildProcess) {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

export async function runLoad(o: Options): Promise<LoadResult> {
  const due = o.quick ? 2000 : o.n === 200_000 ? 20_000 : o.n;
  const declineEvery = 10;
  const durationS = o.loadS;
  const workers = o.workers[0] ?? 2;
  const latencyMs = o.latencies[0] ?? 0;
  const name = `${PREFIX}_load`;
  const url = await seedDatabase(name, { due, declineEvery, now: new Date() }, 'load seed');
  const sandbox = await startSandbox(latencyMs, due, due, declineEvery);
  const procs: ChildProcess[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        const e = JSON.parse(body) as { created: string };
        hooks.push(Date.now() - Date.parse(e.created));
      } catch {
        /* counted by status only */
      }
      res.writeHead(200).end('ok');
    });
  });
  const hooks: number[] = [];
  try {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = { DATABASE_URL: url, RENEWD_ADMIN_KEY: ADMIN_KEY, RENEWD_GATEWAY: 'sandbox', RENEWD_SANDBOX_URL: sandbox.url, PORT: String(port), RENEWD_PUBLIC_URL: base, RENEWD_WORKER_INTERVAL_MS: '250' };
    // The API and the pages; the billing day runs in the workers started below.
    procs.push(renewd(['start'], { ...env, RENEWD_WORKER: '0' }));
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`${base}/health`).then((r) => r.ok).catch(() => false);
      if (ok) break;
      if (i === 99) throw new Error('renewd start did not answer /health');
      await sleep(200);
    }
    const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
    const hook = await fetch(`${base}/v1/webhook-endpoints`, { method: 'POST', headers: admin, body: JSON.stringify({ url: hookUrl, event_types: ['invoice.*', 'subscription.*'] }) });
    if (hook.status !== 201) throw new Error(`webhook endpoint: ${hook.status} ${await hook.text()}`);
    // The customers of the workload: every account whose renewal will be declined (their Retry and
    // help presses) and as many whose renewal succeeds, each with a portal token and a page session.
    const customers: { id: string; token: string; cookie: string }[] = [];
    const picks = [...Array.from({ length: Math.min(200, Math.floor(due / declineEvery)) }, (_, i) => (i + 1) * declineEvery), ...Array.from({ length: 200 }, (_, i) => i * declineEvery + 1)].filter((i) => i <= due);
    for (const i of picks) {
      const id = accountId(i);
      const s = await fetch(`${base}/v1/accounts/${id}/portal-sessions`, { method: 'POST', headers: admin, body: '{}' });
      const { token } = (await s.json()) as { token: string };
      const page = await fetch(`${base}/portal?token=${encodeURIComponent(token)}`, { redirect: 'manual' });
      const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0];
      customers.push({ id, token, cookie });
    }
    log(`load: renewd on ${base}, ${customers.length} customers signed in, webhook receiver ${hookUrl}; starting ${workers} workers and ${CLIENTS} clients for ${durationS} s`);

    const db = openPostgres(url, { max: 2 });
    // Invoices the customers see (Retry and Request help act on them), refreshed as the day goes.
    let pastDue: { id: string; account_id: string }[] = [];
    let anyInvoice: { id: string; account_id: string }[] = [];
    const refresh = async () => {
      const ids = customers.map((c) => c.id);
      pastDue = await db.query(`SELECT id, account_id FROM invoices WHERE account_id = ANY($1) AND status = 'past_due'`, [ids]);
      anyInvoice = await db.query(`SELECT id, account_id FROM invoices WHERE account_id = ANY($1)`, [ids]);
    };

    // The billing day is over when nothing seeded is due and nothing is at the gateway.
    const seeded = new Date();
    const billingLeft = async () => {
      const [r] = await db.query<{ due: number; flying: number }>(
        `SELECT (SELECT count(*) FROM subscriptions WHERE next_action_at <= $1 AND next_action = 'renew')::int AS due,
                (SELECT count(*) FROM payment_attempts WHERE outcome IN ('pending', 'unknown'))::int AS flying`,
        [seeded],
      );
      return r;
    };
    const t0 = Date.now();
    let billingS = NaN;
    const loadAvg = os.loadavg()[0];
    for (let w = 0; w < workers; w++) procs.push(renewd(['worker'], env));
    const watcher = (async () => {
      for (let i = 0; i < 2400 && !Number.isFinite(billingS); i++) {
        const r = await billingLeft().catch(() => null);
        if (r && r.due === 0 && r.flying === 0) billingS = (Date.now() - t0) / 1000;
        else if (Date.now() > t0 + durationS * 1000) progress(`load: billing day still running (${r?.due} due, ${r?.flying} at the gateway)`);
        await sleep(250);
      }
    })();
    const lat = Object.fromEntries(LOAD_KINDS.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    const status = Object.fromEntries(LOAD_KINDS.map((k) => [k, {} as Record<string, number>])) as Record<Kind, Record<string, number>>;
    const codes = Object.fromEntries(LOAD_KINDS.map((k) => [k, {} as Record<string, number>])) as Record<Kind, Record<string, number>>;
    const samples5xx: string[] = [];
    let total5xx = 0;
    const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];
    const customerOf = (accountId: string) => customers.find((c) => c.id === accountId)!;
    const bag: Kind[] = LOAD_KINDS.flatMap((k) => Array<Kind>(WEIGHTS[k]).fill(k));

    async function one(kind: Kind): Promise<void> {
      let res: Response;
      const started = performance.now();
      switch (kind) {
        case 'access':
          res = await fetch(`${base}/v1/accounts/${accountId(1 + Math.floor(Math.random() * due))}/access`, { headers: admin });
          break;
        case 'portal_page':
          res = await fetch(`${base}/portal`, { headers: { cookie: pick(customers).cookie } });
          break;
        case 'card_update': {
          const c = pick(customers);
          res = await fetch(`${base}/v1/accounts/${c.id}/payment-method`, {
            method: 'PUT',
            headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2031, cvc: '123' } }),
          });
          break;
        }
        case 'retry':
        case 'help_request': {
          const inv = kind === 'retry' ? (pick(pastDue) ?? pick(anyInvoice)) : pick(anyInvoice);
          if (!inv) return; // nothing billed yet
          const c = customerOf(inv.account_id);
          res = await fetch(`${base}/v1/invoices/${inv.id}/${kind === 'retry' ? 'retry' : 'help-requests'}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' },
            body: kind === 'retry' ? '{}' : JSON.stringify({ message: 'Why did my payment fail?' }),
          });
          break;
        }
      }
      const body = await res.text();
      lat[kind].push(performance.now() - started);
      const cls = `${Math.floor(res.status / 100)}xx`;
      status[kind][cls] = (status[kind][cls] ?? 0) + 1;
      if (res.status >= 400 && res.status < 500) {
        let code = String(res.status);
        try {
          code = `${res.status} ${(JSON.parse(body) as { code?: string }).code ?? ''}`.trim();
        } catch {
          /* a page */
        }
        codes[kind][code] = (codes[kind][code] ?? 0) + 1;
      }
      if (res.status >= 500) {
        total5xx++;
        if (samples5xx.length < 10) samples5xx.push(`${kind} ${res.status} ${body.slice(0, 200)}`);
      }
    }

    const end = t0 + durationS * 1000;
    const refresher = (async () => {
      while (Date.now() < end) {
        await refresh().catch(() => {});
        await sleep(1000);
      }
    })();
    let done = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < end) {
          await one(pick(bag)).catch((err: Error) => {
            total5xx++; // a dropped connection is no clearer an answer than a 500
            if (samples5xx.length < 10) samples5xx.push(`network: ${err.message}`);
          });
          if (++done % 500 === 0) progress(`load: ${fmt(done / ((Date.now() - t0) / 1000))} req/s, ${total5xx} 5xx`);
        }
      }),
    );
    await refresher;
    const elapsed = (Date.now() - t0) / 1000;

    // The billing day runs on (if it must) until nothing is due and nothing is at the gateway.
    await watcher;
    await sleep(3000); // the last webhook deliveries
    const [b] = await db.query<Record<string, number>>(
      `SELECT (SELECT count(*) FROM invoices WHERE kind = 'renewal')::int AS renewal_invoices,
              (SELECT count(*) FROM (SELECT subscription_id FROM invoices WHERE kind = 'renewal' GROUP BY 1 HAVING count(*) = 1) x)::int AS once,
              (SELECT count(*) FROM (SELECT subscription_id FROM invoices WHERE kind = 'renewal' GROUP BY 1 HAVING count(*) > 1) x)::int AS several,
              (SELECT count(*) FROM invoices WHERE kind = 'renewal' AND status = 'paid')::int AS paid,
              (SELECT count(*) FROM invoices WHERE kind = 'renewal' AND status = 'past_due')::int AS past_due,
              (SELECT count(*) FROM payment_attempts)::int AS attempts,
              (SELECT count(*) FROM (SELECT invoice_id FROM payment_attempts WHERE outcome = 'succeeded' GROUP BY 1 HAVING count(*) > 1) x)::int AS double_paid`,
    );
    const problems: string[] = [];
    if (!Number.isFinite(billingS)) problems.push('the billing day did not finish within 10 minutes');
    if (b.once !== due) problems.push(`${b.once} of ${due} due subscriptions renewed exactly once`);
    if (b.several) problems.push(`DOUBLE RENEWAL: ${b.several} subscriptions with more than one renewal invoice`);
    if (b.double_paid) problems.push(`DOUBLE CHARGE: ${b.double_paid} invoices paid twice`);

    const charges = await fetch(`${sandbox.url}/_sandbox/charges`, { headers: { authorization: 'Bearer sk_test_renewd_bench' } }).then((r) => r.json() as Promise<{ data: any[] }>);
    const report = await verifyInvariants(db, new Date(), { charges: charges.data });
    const byRule: Record<string, number> = {};
    for (const v of report.violations) byRule[v.rule] = (byRule[v.rule] ?? 0) + 1;
    await db.close();

    const figures = (kind: Kind): KindFigures => ({
      requests: lat[kind].length,
      perSecond: lat[kind].length / elapsed,
      p50: pct(lat[kind], 50),
      p99: pct(lat[kind], 99),
      status: status[kind],
      codes4xx: codes[kind],
    });
    const result: LoadResult = {
      durationS: elapsed,
      loadAverage: loadAvg,
      clients: CLIENTS,
      workers,
      latencyMs,
      due,
      declineEvery,
      customers: customers.length,
      kinds: {
        ...(Object.fromEntries(LOAD_KINDS.map((k) => [k, figures(k)])) as Record<Kind, KindFigures>),
        webhook_delivery: { requests: hooks.length, perSecond: hooks.length / elapsed, p50: pct(hooks, 50), p99: pct(hooks, 99), status: { '2xx': hooks.length }, codes4xx: {} },
      },
      total5xx,
      samples5xx,
      billing: {
        ok: problems.length === 0,
        seconds: billingS,
        renewalsPerSecond: due / billingS,
        renewalInvoices: b.renewal_invoices,
        subscriptionsRenewedOnce: b.once,
        subscriptionsWithSeveralRenewals: b.several,
        paid: b.paid,
        pastDue: b.past_due,
        attempts: b.attempts,
        problems,
      },
      verify: { violations: report.violations.length, byRule, gatewayCharges: report.checked.gateway_charges ?? 0, paidInvoices: report.checked.paid_invoices ?? 0 },
    };
    log(loadMarkdown(result, o));
    return result;
  } finally {
    await Promise.all(procs.map(stopProcess));
    sandbox.child.send({ type: 'exit' });
    await sandbox.child.kill();
    receiver.close();
    await dropDatabase(name);
  }
}

/** The report's section (also bench/results/load.md). */
export function loadMarkdown(r: LoadResult, o?: Pick<Options, 'runs'>): string {
  void o;
  const ms = (x: number) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(1) : fmt(x)} ms` : '—');
  const lines = [
    `Mixed load for ${r.durationS.toFixed(0)} s: ${r.clients} clients against \`renewd start\` (PostgreSQL, sandbox PSP at ${r.latencyMs} ms) while ${r.workers} \`renewd worker\` processes ran a billing day of ${fmt(r.due)} renewals (1 in ${r.declineEvery} declined); ${r.customers} customers signed in. Machine load average at the start: ${r.loadAverage?.toFixed(1)}.`,
    '',
    '| kind | requests | per second | p50 | p99 | 2xx | 4xx (refusals by code) | 5xx |',
    '|---|---:|---:|---:|---:|---:|---|---:|',
    ...Object.entries(r.kinds).map(
      ([k, f]) =>
        `| ${k} | ${fmt(f.requests)} | ${fmt(f.perSecond, 1)} | ${ms(f.p50)} | ${ms(f.p99)} | ${fmt((f.status['2xx'] ?? 0) + (f.status['3xx'] ?? 0))} | ${fmt(f.status['4xx'] ?? 0)}${Object.keys(f.codes4xx).length ? ` (${Object.entries(f.codes4xx).map(([c, n]) => `${c}: ${n}`).join(', ')})` : ''} | ${fmt(f.status['5xx'] ?? 0)} |`,
    ),
    '',
    `**5xx answers: ${r.total5xx}**${r.samples5xx.length ? ` (${r.samples5xx.join(' | ')})` : ''}. Webhook delivery p50/p99: from the event to its arrival at the receiver.`,
    '',
    `Billing day: ${r.billing.ok ? '✅ every due subscription renewed exactly once' : `❌ ${r.billing.problems.join('; ')}`} — ${fmt(r.billing.subscriptionsRenewedOnce)}/${fmt(r.due)} renewed once, ${fmt(r.billing.paid)} paid, ${fmt(r.billing.pastDue)} in grace, ${fmt(r.billing.attempts)} attempts, finished ${r.billing.seconds.toFixed(0)} s after the workers started (${fmt(r.billing.renewalsPerSecond)} renewals/s under the load).`,
    `renewd verify with the sandbox's ${fmt(r.verify.gatewayCharges)} charges: ${r.verify.violations === 0 ? '0 violations' : `${r.verify.violations} violations (${JSON.stringify(r.verify.byRule)})`} over ${fmt(r.verify.paidInvoices)} paid invoices.`,
    '',
  ];
  return lines.join('\n');
}
