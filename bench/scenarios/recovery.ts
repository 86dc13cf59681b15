// `npm run bench -- --only recovery` (issue 18 item 1): how much of a population of failed renewals
// renewd's default dunning policy recovers, against the published schedules of the anchors (Stripe's
// recommended 8 tries in 2 weeks, Kill Bill's retry days 8,8,8, a Lago-like fixed-day campaign),
// each run as a renewd dunning policy, on the same seeded population.
//
// Driven through the real engine: per policy a fresh PostgreSQL database and `startService` with the
// test clock and the in-process sandbox PSP (no HTTP listener; the commands the routes call). The
// policy is saved as PUT /v1/dunning-policy saves it (`savePolicy`); accounts, cards and yearly
// subscriptions are made by the engine's commands, spread over 30 days; a year later every renewal
// fails, each card scripted in the sandbox (`until` steps) by the behaviour model of
// bench/recovery-model.ts. The test clock then moves 6 hours at a time (`advanceClock`: every retry
// runs at its own instant) and renewd's retry planner alone decides when to charge. Customers whose
// card a new one cures read the dunning e-mails the outbox really holds and, per the model, save a
// new card through the real payment-method command (which retries at once).
//
// Caps are counted apart from the engine, from the sandbox's own list of PaymentIntents: per card,
// declines in any 24 h (Mastercard: ≤ 10), reattempts after a decline in any 30 days (Visa: ≤ 20),
// and any attempt after a Visa category 1 ("never retry") decline. Both caps are applied to every
// card. Any breach fails the run (marked in the report, non-zero exit).
import { startService, type Service } from '../../src/service.ts';
import { loadConfig } from '../../src/config.ts';
import { openPostgres } from '../../src/store/db.ts';
import { savePolicy } from '../../src/engine/policy.ts';
import { advanceClock } from '../../src/engine/test-clock.ts';
import { changePaymentMethod } from '../../src/engine/payment-method.ts';
import { DEFAULT_POLICY, type PolicyOverride } from '../../src/core/dunning.ts';
import { checkCaps, type CapCheck, type PiView } from '../lib/network-caps.ts';
import { mapPool } from '../../src/lib/pool.ts';
import { createDatabase, dropDatabase, PREFIX, queryDb } from '../lib/pg.ts';
import { log, median, progress } from '../lib/util.ts';
import { actsOnEmail, CAUSES, PLANS, population, timeline, type Cause, type Customer } from '../recovery-model.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The subscriptions start in this month; their renewals fail a year later. */
const START = new Date('2027-01-04T09:00:00Z');
const STEP = 6 * HOUR;
/** Around the gateway outage the clock moves this little at a time, so incident detection (at most once a minute of clock time, after each drain) sees the spike. */
const FINE_STEP = 5 * 60_000;
/** The outage starts on this day of the dunning (days after the first failed renewal)… */
const OUTAGE_DAY = 4;
/** …an hour before the renewals and scheduled retries of that day (they fall at 09:00, the hour the subscriptions started). */
const OUTAGE_START_HOUR = 8;
/** The e-mails that ask the customer to act (what a customer who acts reacts to). */
const ASKING = ['renewal_failed', 'retry_failed', 'grace_ending', 'authentication_required'];
const GOOD_CARD = { number: '4242424242424242', exp_month: 12, exp_year: 2099 };

export interface RecoveryOptions {
  n: number;
  seed: number;
  graceDays: number;
  /** An outage of this many hours on day 4 of the dunning, from 08:00 (0: none)… */
  outageHours: number;
  /**
   * …'gateway' (the default): every request to the PSP answered 503, nothing stored under the
   * Idempotency-Key; 'issuer': every charge declined issuer_not_available (a card_error stored under
   * the key like any decline, a technical failure for renewd), other requests answered normally.
   */
  outageMode?: OutageMode;
  /** Only these policies (ids), default all. */
  policies?: string[];
}

export type OutageMode = 'gateway' | 'issuer';

export interface PolicySpec {
  id: string;
  name: string;
  /** Where the schedule comes from, and how it is expressed as a renewd policy. */
  source: string;
  override: PolicyOverride;
}

/** The policies compared: every one with the same grace (downgrade end), reminders, caps and decline classes. */
export function policies(graceDays: number): PolicySpec[] {
  const within = (days: number[]) => days.filter((d) => d < graceDays);
  const base = { grace_days: graceDays };
  // The anchors have no outage-aware grace: their runs keep renewd's incident detection off.
  const noIncidents = { incidents: { enabled: false } };
  const stripe = within([1, 2, 3, 4, 5, 6, 7].map((k) => (k * 14) / 8));
  const killbill = within([8, 16, 24]);
  const lago = within([3, 6, 9, 12, 15, 18, 21]);
  return [
    {
      id: 'renewd',
      name: 'renewd default',
      source: `DEFAULT_POLICY (src/core/dunning.ts): retries on days ${DEFAULT_POLICY.retry_schedule.join(', ')}, technical declines after ${DEFAULT_POLICY.technical_retry_hours.join(' h and ')} h, ≤ ${DEFAULT_POLICY.max_automatic_attempts} automatic attempts`,
      override: base,
    },
    {
      id: 'stripe',
      name: 'Stripe: 8 tries in 2 weeks',
      source: `Stripe's recommended Smart Retries setting, "8 tries within 2 weeks" (docs.stripe.com/payments/off-session-payments/smart-retries). Smart Retries picks its times by machine learning, which no policy can copy: approximated as the 7 retries evenly spaced, days ${stripe.map((d) => +d.toFixed(2)).join(', ')}`,
      override: { ...base, ...noIncidents, retry_schedule: stripe, technical_retry_hours: [], max_automatic_attempts: stripe.length + 1 },
    },
    {
      id: 'killbill',
      name: 'Kill Bill: 8,8,8 days',
      source: `Kill Bill's payment retry schedule org.killbill.payment.retry.days = 8,8,8 (docs.killbill.io/latest/overdue.html): retries on days ${killbill.join(', ')}`,
      override: { ...base, ...noIncidents, retry_schedule: killbill, technical_retry_hours: [], max_automatic_attempts: killbill.length + 1 },
    },
    {
      id: 'lago',
      name: 'Lago-like: every 3 days',
      source: `A Lago dunning campaign is a delay between attempts and a number of attempts (getlago.com/docs/guide/dunning/automatic-dunning); Lago publishes no default, so: every 3 days, up to 8 attempts: days ${lago.join(', ')}`,
      override: { ...base, ...noIncidents, retry_schedule: lago, technical_retry_hours: [], max_automatic_attempts: lago.length + 1 },
    },
  ];
}

export interface CauseFigures {
  failed: number;
  recovered: number;
  retries: number;
}

/** What the outage did to one policy's run. */
export interface OutageFigures {
  from: string;
  to: string;
  /** Renewal charges (first attempts) made in the outage window: all failed (503, or issuer_not_available). */
  renewals: number;
  /** Retries (attempts after the first) spent in the outage window: all failed (503, or issuer_not_available). */
  retries: number;
  /** Renewal invoices with at least one attempt in the window… */
  affected: number;
  /** …of which paid by the end… */
  affectedRecovered: number;
  /** …and not paid: their grace ended after the outage and the subscription was downgraded. */
  affectedLost: number;
  /** Population indices of the customers whose renewal invoice had an attempt in the window (to compare with a run without the outage). */
  touched: number[];
  /** incident.opened / incident.closed events over the whole run (renewd's incident detection; off for the anchors)… */
  incidentsOpened: number;
  /** …of which opened during the outage (the others: the daily 09:00 batch of the model's technical declines). */
  incidentsOpenedInOutage: number;
  /** Minutes the incidents opened during the outage were open. */
  incidentMinutesInOutage: number;
  incidentsClosed: number;
  /** Minutes the incidents were open, in total. */
  incidentMinutes: number;
  /** Subscriptions whose grace an incident extended (dunning.grace_extended events). */
  graceExtended: number;
}

export interface PolicyResult {
  id: string;
  name: string;
  source: string;
  policy: PolicyOverride;
  failed: number;
  recovered: number;
  recoveredShare: number;
  revenueFailed: number;
  revenueRecovered: number;
  /** Attempts after the failed renewal charge (scheduled, technical, on a new card), all invoices. */
  retries: number;
  retriesPerRecovery: number;
  declines: number;
  /** Dunning e-mails asking the customer to act (renewal_failed, retry_failed, grace_ending, authentication_required). */
  emails: number;
  emailsPerRecovery: number;
  medianDaysToRecovery: number | null;
  p90DaysToRecovery: number | null;
  newCards: number;
  byCause: Record<Cause, CauseFigures>;
  caps: CapCheck;
  /** Renewal invoices still open at the end (should be 0). */
  unsettled: number;
  /** Per customer, in population order: '1' renewal paid by the end, '0' not (compare two runs customer by customer). */
  recoveredBy: string;
  /** The outage's figures (null when the run had none). */
  outage: OutageFigures | null;
  seconds: number;
}

export interface RecoveryResult {
  n: number;
  seed: number;
  graceDays: number;
  /** Hours of the outage (0: none)… */
  outageHours: number;
  /** …and which (absent in results written before issuer outages: 'gateway'). */
  outageMode?: OutageMode;
  causes: Record<Cause, number>;
  /** Time to subscribe the population through the engine (once; each policy runs on a copy). */
  populationSeconds: number;
  policies: PolicyResult[];
  ok: boolean;
}

/** Every PaymentIntent the sandbox made (its own list, not renewd's), oldest first. */
function sandboxIntents(svc: Service): PiView[] {
  const psp = svc.sandbox!.psp;
  const out: PiView[] = [];
  let after: string | undefined;
  for (;;) {
    const page = psp.listPaymentIntents({ limit: '100', ...(after ? { starting_after: after } : {}) }) as { data: (PiView & { id: string })[]; has_more: boolean };
    out.push(...page.data);
    if (!page.has_more || page.data.length === 0) break;
    after = page.data[page.data.length - 1].id;
  }
  return out.reverse();
}

const serviceConfig = () => ({
  ...loadConfig({}),
  port: 0,
  host: '127.0.0.1',
  publicUrl: 'http://127.0.0.1:8080',
  gateway: 'sandbox' as const,
  testClock: true,
  testClockStart: START.toISOString(),
  sandboxPort: 0,
  worker: false,
  smtpUrl: undefined,
  sandboxEvents: false,
});

/** What each policy's copy of the population needs besides its database. */
interface Population {
  template: string;
  /** Gateway customers and cards, loaded into each policy's fresh sandbox under the same ids. */
  customers: { id: string }[];
  cards: { id: string; customer: string; number: string; exp_month: number; exp_year: number }[];
  seconds: number;
}

/**
 * The population, once, through the engine's commands (accounts, cards attached at the sandbox,
 * yearly subscriptions whose first period is charged), day by day over a month so the renewals fall
 * on every day of a month; the clock is left an hour before the first renewal. Each policy runs on a
 * copy of this database (CREATE DATABASE … TEMPLATE), so every policy meets the same customers.
 */
async function createPopulation(pop: Customer[]): Promise<Population> {
  const t0 = Date.now();
  const template = `${PREFIX}_recovery_population`;
  const db = openPostgres(await benchDatabase(template), { max: 10 });
  let svc: Service | null = null;
  try {
    svc = await startService(serviceConfig(), { db, worker: false, listen: false, logger: false });
    const ctx = svc.ctx;
    const { commands } = ctx;
    await commands.createPlan({ id: 'free', name: 'Free', free: true, prices: [] });
    for (const p of PLANS) await commands.createPlan({ id: p.id, name: p.name, prices: [{ currency: 'EUR', interval: 'year', amount: p.amount }] });
    let made = 0;
    for (let day = 0; day < 30; day++) {
      await advanceClock(ctx, { to: new Date(START.getTime() + day * DAY).toISOString() });
      await mapPool(
        pop.filter((c) => c.startDay === day),
        16,
        async (c) => {
          const a = await commands.createAccount({ name: `Customer ${c.index}`, email: emailOf(c.index), locale: 'en', domain_zone: 'com', currency: 'EUR', time_zone: 'UTC' });
          await commands.setPaymentMethod(a.id, { type: 'card', card: GOOD_CARD });
          await commands.subscribe({ account_id: a.id, plan_id: c.plan, interval: 'year' });
          made++;
        },
      );
      progress(`recovery: subscribed ${made}/${pop.length}`);
    }
    const [{ first }] = await db.query<{ first: Date }>(`SELECT min(current_period_end) AS first FROM subscriptions`);
    await advanceClock(ctx, { to: new Date(new Date(first).getTime() - HOUR).toISOString() });
    const refs = await db.query<{ customer: string; card: string }>(
      `SELECT a.gateway_customer_ref AS customer, pm.gateway_ref AS card FROM accounts a JOIN payment_methods pm ON pm.account_id = a.id AND pm.status = 'active'`,
    );
    log(`recovery: population of ${pop.length} subscribed through the engine in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return {
      template,
      customers: refs.map((r) => ({ id: r.customer })),
      cards: refs.map((r) => ({ id: r.card, customer: r.customer, ...GOOD_CARD })),
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await svc?.stop();
    await db.close();
  }
}

/**
 * A database for the run. Commits are not waited for on disk (synchronous_commit off): this
 * benchmark measures what is recovered, not speed, and the clock's hundreds of small steps would
 * otherwise wait on the disk of a shared machine.
 */
async function benchDatabase(name: string, template?: string): Promise<string> {
  const url = await createDatabase(name, template);
  await queryDb(url, `ALTER DATABASE ${name} SET synchronous_commit TO off`);
  return url;
}

const emailOf = (index: number) => `c${index}@bench.example`;

async function runPolicy(spec: PolicySpec, pop: Customer[], base: Population, o: RecoveryOptions): Promise<PolicyResult> {
  const t0 = Date.now();
  const name = `${PREFIX}_recovery_${spec.id}`;
  const url = await benchDatabase(name, base.template);
  const db = openPostgres(url, { max: 10 });
  let svc: Service | null = null;
  try {
    // The test clock resumes where the population left it (its time is kept in the database).
    svc = await startService(serviceConfig(), { db, worker: false, listen: false, logger: false });
    const ctx = svc.ctx;
    const sandbox = svc.sandbox!;
    sandbox.load({ customers: base.customers, cards: base.cards });
    await savePolicy(ctx, 'default', spec.override);

    // A year on, every card answers as the model says (the renewal's own charge declines first).
    const byEmail = new Map(pop.map((c) => [emailOf(c.index), c]));
    const renewals = await db.query<{ account_id: string; email: string; gateway_ref: string; period_end: Date }>(
      `SELECT s.account_id, a.email, pm.gateway_ref, s.current_period_end AS period_end
         FROM subscriptions s JOIN accounts a ON a.id = s.account_id JOIN payment_methods pm ON pm.account_id = s.account_id AND pm.status = 'active'`,
    );
    const byAccount = new Map<string, Customer>();
    let first = Infinity;
    let last = 0;
    for (const r of renewals) {
      const c = byEmail.get(r.email)!;
      byAccount.set(r.account_id, c);
      const failedAt = new Date(r.period_end);
      first = Math.min(first, failedAt.getTime());
      last = Math.max(last, failedAt.getTime());
      sandbox.script({ payment_method: r.gateway_ref }, timeline(c, o.seed, failedAt, new Date(failedAt.getTime() + (o.graceDays + 3) * DAY)).map((s) => (s.until ? { outcome: s.outcome, until: s.until } : { outcome: s.outcome, forever: true })));
    }

    // The outage: from 08:00 on day 4 of the dunning, for outageHours, either every request to the
    // sandbox PSP is answered 503 (gateway: technical failure, unknown outcome, nothing stored under
    // the key) or every charge is declined issuer_not_available (issuer: a technical decline, stored
    // under the key; lookups and the rest work).
    const outageFrom = first + OUTAGE_DAY * DAY - (9 - OUTAGE_START_HOUR) * HOUR;
    const outageTo = outageFrom + o.outageHours * HOUR;
    // The clock moves 5 minutes at a time from an hour before the outage to 3 hours after it.
    const fineFrom = outageFrom - HOUR;
    const fineTo = outageTo + 3 * HOUR;
    if (o.outageHours > 0) sandbox.setFaults({ outages: [{ from: new Date(outageFrom), to: new Date(outageTo), mode: o.outageMode === 'issuer' ? 'issuer' : 'error' }] });

    // The dunning months: the clock moves 6 h at a time; customers act on the e-mails they get.
    const end = last + (o.graceDays + 2) * DAY;
    let now = ctx.clock.now().getTime();
    let scanned = now;
    const emailsSeen = new Map<string, number>();
    const acted = new Set<string>();
    const actions: { at: number; account: string }[] = [];
    let newCards = 0;
    while (now < end) {
      const nextAction = actions.length ? Math.min(...actions.map((a) => a.at)) : Infinity;
      const fine = o.outageHours > 0 && now >= fineFrom && now < fineTo;
      now = Math.min(now + (fine ? FINE_STEP : STEP), end, Math.max(now + 1, nextAction), o.outageHours > 0 && now < fineFrom ? fineFrom : Infinity);
      await advanceClock(ctx, { to: new Date(now).toISOString() });
      for (const a of actions.filter((x) => x.at <= now)) {
        actions.splice(actions.indexOf(a), 1);
        try {
          await changePaymentMethod(ctx, a.account, { type: 'card', card: GOOD_CARD }, 'customer');
          newCards++;
        } catch (err) {
          log(`recovery ${spec.id}: card change for ${a.account} refused: ${(err as Error).message}`);
        }
      }
      const mails = await db.query<{ account_id: string; created_at: Date }>(
        `SELECT account_id, created_at FROM notifications WHERE created_at > $1 AND created_at <= $2 AND template = ANY($3) ORDER BY created_at, id`,
        [new Date(scanned), new Date(now), ASKING],
      );
      scanned = now;
      for (const m of mails) {
        const c = byAccount.get(m.account_id);
        if (!c || acted.has(m.account_id)) continue;
        const k = (emailsSeen.get(m.account_id) ?? 0) + 1;
        emailsSeen.set(m.account_id, k);
        const at = actsOnEmail(c, o.seed, k, new Date(m.created_at));
        if (at) {
          acted.add(m.account_id);
          actions.push({ at: Math.max(at.getTime(), now), account: m.account_id });
        }
      }
      progress(`recovery ${spec.id}: day ${((now - first) / DAY).toFixed(1)} of ${((end - first) / DAY).toFixed(0)}`);
    }

    // The figures, from renewd's tables (outcomes) and the sandbox's own list (caps).
    const invoices = await db.query<{ account_id: string; status: string; amount: string; failed_at: Date | null; paid_at: Date | null; attempts: number; declines: number }>(
      `SELECT i.account_id, i.status, i.amount, i.failed_at, i.paid_at,
              (SELECT count(*) FROM payment_attempts a WHERE a.invoice_id = i.id AND a.outcome <> 'pending')::int AS attempts,
              (SELECT count(*) FROM payment_attempts a WHERE a.invoice_id = i.id AND a.outcome NOT IN ('succeeded', 'pending'))::int AS declines
         FROM invoices i WHERE i.kind = 'renewal'`,
    );
    const [mailCount] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM notifications WHERE template = ANY($1)`, [ASKING]);
    const byCause = Object.fromEntries(CAUSES.map((c) => [c, { failed: 0, recovered: 0, retries: 0 }])) as Record<Cause, CauseFigures>;
    let recovered = 0;
    let revenueFailed = 0;
    let revenueRecovered = 0;
    let retries = 0;
    let declines = 0;
    let unsettled = 0;
    const days: number[] = [];
    for (const i of invoices) {
      const c = byAccount.get(i.account_id)!;
      if (!i.failed_at) continue; // paid at the first charge: the model never lets that happen
      byCause[c.cause].failed++;
      revenueFailed += Number(i.amount);
      retries += i.attempts - 1;
      byCause[c.cause].retries += i.attempts - 1;
      declines += i.declines;
      if (i.status === 'paid') {
        recovered++;
        byCause[c.cause].recovered++;
        revenueRecovered += Number(i.amount);
        days.push((new Date(i.paid_at!).getTime() - new Date(i.failed_at).getTime()) / DAY);
      } else if (i.status === 'past_due' || i.status === 'open') unsettled++;
    }
    const failed = invoices.filter((i) => i.failed_at).length;
    let outage: OutageFigures | null = null;
    if (o.outageHours > 0) {
      const [w] = await db.query<{ renewals: number; retries: number }>(
        `SELECT count(*) FILTER (WHERE a.number = 1)::int AS renewals, count(*) FILTER (WHERE a.number > 1)::int AS retries
           FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id
          WHERE i.kind = 'renewal' AND a.created_at >= $1 AND a.created_at < $2`,
        [new Date(outageFrom), new Date(outageTo)],
      );
      const touched = await db.query<{ account_id: string }>(
        `SELECT DISTINCT a.account_id FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id
          WHERE i.kind = 'renewal' AND a.created_at >= $1 AND a.created_at < $2`,
        [new Date(outageFrom), new Date(outageTo)],
      );
      const [aff] = await db.query<{ affected: number; recovered: number }>(
        `SELECT count(*)::int AS affected, count(*) FILTER (WHERE i.status = 'paid')::int AS recovered FROM invoices i
          WHERE i.kind = 'renewal' AND EXISTS (SELECT 1 FROM payment_attempts a WHERE a.invoice_id = i.id AND a.created_at >= $1 AND a.created_at < $2)`,
        [new Date(outageFrom), new Date(outageTo)],
      );
      const evs = await db.query<{ type: string; data: { opened_at?: string; closed_at?: string } }>(
        `SELECT type, data FROM events WHERE type IN ('incident.opened', 'incident.closed', 'dunning.grace_extended') ORDER BY id`,
      );
      const closed = evs.filter((e) => e.type === 'incident.closed');
      const inOutage = (at: string | undefined) => !!at && Date.parse(at) >= outageFrom && Date.parse(at) < outageTo;
      outage = {
        from: new Date(outageFrom).toISOString(),
        to: new Date(outageTo).toISOString(),
        renewals: w.renewals,
        retries: w.retries,
        affected: aff.affected,
        affectedRecovered: aff.recovered,
        affectedLost: aff.affected - aff.recovered,
        touched: touched.map((t) => byAccount.get(t.account_id)!.index).sort((a, b) => a - b),
        incidentsOpened: evs.filter((e) => e.type === 'incident.opened').length,
        incidentsOpenedInOutage: evs.filter((e) => e.type === 'incident.opened' && inOutage(e.data.opened_at)).length,
        incidentMinutesInOutage: closed.filter((e) => inOutage(e.data.opened_at)).reduce((m, e) => m + (Date.parse(e.data.closed_at!) - Date.parse(e.data.opened_at!)) / 60_000, 0),
        incidentsClosed: closed.length,
        incidentMinutes: closed.reduce((m, e) => m + (e.data.closed_at && e.data.opened_at ? (Date.parse(e.data.closed_at) - Date.parse(e.data.opened_at)) / 60_000 : 0), 0),
        graceExtended: evs.filter((e) => e.type === 'dunning.grace_extended').length,
      };
      log(
        `recovery ${spec.id}: outage ${outage.from}–${outage.to}: ${outage.renewals} renewals and ${outage.retries} retries failed in it; ${outage.affected} invoices touched, ` +
          `${outage.affectedRecovered} recovered, ${outage.affectedLost} lost; ${outage.incidentsOpened} incident(s) opened (${outage.incidentMinutes.toFixed(0)} min), ${outage.incidentsOpenedInOutage} of them in the outage (${outage.incidentMinutesInOutage.toFixed(0)} min), ${outage.graceExtended} graces extended`,
      );
    }
    const caps = checkCaps(sandboxIntents(svc));
    days.sort((a, b) => a - b);
    const r: PolicyResult = {
      id: spec.id,
      name: spec.name,
      source: spec.source,
      policy: spec.override,
      failed,
      recovered,
      recoveredShare: failed ? recovered / failed : 0,
      revenueFailed,
      revenueRecovered,
      retries,
      retriesPerRecovery: recovered ? retries / recovered : NaN,
      declines,
      emails: mailCount.n,
      emailsPerRecovery: recovered ? mailCount.n / recovered : NaN,
      medianDaysToRecovery: days.length ? median(days) : null,
      p90DaysToRecovery: days.length ? days[Math.min(days.length - 1, Math.floor(days.length * 0.9))] : null,
      newCards,
      byCause,
      caps,
      unsettled,
      recoveredBy: recoveredByIndex(pop, invoices, byAccount),
      outage,
      seconds: (Date.now() - t0) / 1000,
    };
    log(
      `recovery ${spec.id}: ${recovered}/${failed} recovered (${(r.recoveredShare * 100).toFixed(1)} %), ${retries} retries, ${declines} declines, ${r.emails} e-mails, ` +
        `median ${r.medianDaysToRecovery?.toFixed(1) ?? '—'} d, caps: max ${caps.maxDeclines24h} declines/24 h, ${caps.maxReattempts30d} reattempts/30 d, ${caps.breaches.length ? `BREACHES: ${caps.breaches.join('; ')}` : 'no breach'} (${r.seconds.toFixed(0)} s)`,
    );
    if (unsettled) log(`!!! recovery ${spec.id}: ${unsettled} renewal invoice(s) still open at the end`);
    return r;
  } finally {
    await svc?.stop();
    await db.close();
    await dropDatabase(name);
  }
}

function recoveredByIndex(pop: Customer[], invoices: { account_id: string; status: string }[], byAccount: Map<string, Customer>): string {
  const bits = pop.map(() => '0');
  const at = new Map(pop.map((c, i) => [c.index, i]));
  for (const i of invoices) if (i.status === 'paid') bits[at.get(byAccount.get(i.account_id)!.index)!] = '1';
  return bits.join('');
}

export async function runRecovery(o: RecoveryOptions): Promise<RecoveryResult> {
  const pop = population(o.n, o.seed);
  const causes = Object.fromEntries(CAUSES.map((c) => [c, pop.filter((p) => p.cause === c).length])) as Record<Cause, number>;
  log(`recovery: ${o.n} failed renewals, seed ${o.seed}, grace ${o.graceDays} days, ${o.outageMode ?? 'gateway'} outage ${o.outageHours} h; causes ${CAUSES.map((c) => `${c} ${causes[c]}`).join(', ')}`);
  const base = await createPopulation(pop);
  const results: PolicyResult[] = [];
  try {
    for (const spec of policies(o.graceDays).filter((p) => !o.policies || o.policies.includes(p.id))) results.push(await runPolicy(spec, pop, base, o));
  } finally {
    await dropDatabase(base.template);
  }
  const ok = results.every((r) => r.caps.breaches.length === 0 && r.unsettled === 0);
  return { n: o.n, seed: o.seed, graceDays: o.graceDays, outageHours: o.outageHours, outageMode: o.outageMode ?? 'gateway', causes, populationSeconds: base.seconds, policies: results, ok };
}

// ---- the report ----
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const eur = (minor: number) => `€${Math.round(minor / 100).toLocaleString('en-US')}`;
const num = (x: number | null, d = 2) => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(d));

/**
 * The outage's effect, customer by customer, against a run of the same population without it
 * (`--recovery-outage-hours 0`, same n, seed and grace): per policy, renewals paid without the
 * outage and not with it (lost to it) and the reverse, among the customers it touched and overall.
 */
export function outageEffect(r: RecoveryResult, base: RecoveryResult) {
  if (base.n !== r.n || base.seed !== r.seed || base.graceDays !== r.graceDays || base.outageHours !== 0) return null;
  return r.policies.flatMap((p) => {
    const b = base.policies.find((x) => x.id === p.id);
    if (!p.outage || !b?.recoveredBy || !p.recoveredBy) return [];
    const diff = (set: Iterable<number>) => {
      let lost = 0;
      let gained = 0;
      for (const i of set) {
        if (b.recoveredBy[i] === '1' && p.recoveredBy[i] === '0') lost++;
        if (b.recoveredBy[i] === '0' && p.recoveredBy[i] === '1') gained++;
      }
      return { lost, gained };
    };
    const all = diff(p.recoveredBy.split('').map((_, i) => i));
    const touched = diff(p.outage.touched);
    const paid = (bits: string) => bits.split('').filter((x) => x === '1').length;
    return [{ id: p.id, name: p.name, paidWithout: paid(b.recoveredBy), paidWith: paid(p.recoveredBy), touched, all }];
  });
}

export function recoveryMarkdown(r: RecoveryResult, base?: RecoveryResult | null): string {
  const lines = [
    `${r.n.toLocaleString('en-US')} failed yearly renewals (seed ${r.seed}), the same population for every policy; grace ${r.graceDays} days, then downgrade, for every policy` +
      `${r.outageHours ? `; a ${r.outageHours}-hour ${r.outageMode === 'issuer' ? 'issuer' : 'gateway-wide'} outage on day 4 of the dunning (below)` : '; no outage'}. ` +
      `Causes: ${CAUSES.map((c) => `${c.replace(/_/g, ' ')} ${r.causes[c]}`).join(', ')}. Behaviour model and sources: bench/recovery-model.ts.`,
    '',
    '| policy | recovered | revenue recovered | retries per recovery | declines | max declines / card / 24 h (cap 10) | max reattempts / card / 30 d (cap 20) | cap breaches | asking e-mails per recovery | median days to recovery (p90) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of r.policies)
    lines.push(
      `| ${p.name} | ${pct(p.recoveredShare)} (${p.recovered}/${p.failed}) | ${eur(p.revenueRecovered)} of ${eur(p.revenueFailed)} (${pct(p.revenueFailed ? p.revenueRecovered / p.revenueFailed : 0)}) | ${num(p.retriesPerRecovery)} (${p.retries}) | ${p.declines} | ${p.caps.maxDeclines24h} | ${p.caps.maxReattempts30d} | ${p.caps.breaches.length ? `**${p.caps.breaches.length} FAILED**` : '0'} | ${num(p.emailsPerRecovery)} | ${num(p.medianDaysToRecovery, 1)} (${num(p.p90DaysToRecovery, 1)}) |`,
    );
  lines.push('', 'Recovered share by decline cause:', '', `| policy | ${CAUSES.map((c) => c.replace(/_/g, ' ')).join(' | ')} |`, `|---|${CAUSES.map(() => '---').join('|')}|`);
  for (const p of r.policies) lines.push(`| ${p.name} | ${CAUSES.map((c) => (p.byCause[c].failed ? `${pct(p.byCause[c].recovered / p.byCause[c].failed)} (${p.byCause[c].retries} retries)` : '—')).join(' | ')} |`);
  const withOutage = r.policies.filter((p) => p.outage);
  if (withOutage.length) {
    const o = withOutage[0].outage!;
    lines.push(
      '',
      `${
        r.outageMode === 'issuer'
          ? 'The issuer outage: every charge declined `issuer_not_available` (a card_error, stored under the idempotency key like any decline: a technical failure, the card never asked), lookups and the rest of the API answering normally,'
          : 'The gateway outage: every request to the PSP answered 503 (a technical failure, outcome unknown; nothing stored under the idempotency key, so the attempt is charged again under its key once the gateway answers),'
      } from ${o.from.replace('T', ' ').slice(0, 16)} to ${o.to.replace('T', ' ').slice(0, 16)} UTC (${r.outageHours} h, day 4 of the dunning), the clock in 5-minute steps from an hour before to 3 hours after. renewd's default runs with its payment incidents (outage-aware grace); the anchors with them off.`,
      '',
      '| policy | renewal charges in the outage | retries spent in the outage | renewals touched by the outage | of which recovered | of which lost (downgraded) | incidents opened in the outage (minutes open) | incidents opened in the whole run (minutes open) | graces extended (whole run) |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const p of withOutage) {
      const x = p.outage!;
      lines.push(`| ${p.name} | ${x.renewals} | ${x.retries} | ${x.affected} | ${x.affectedRecovered} | ${x.affectedLost} | ${x.incidentsOpenedInOutage} (${x.incidentMinutesInOutage.toFixed(0)}) | ${x.incidentsOpened} (${x.incidentMinutes.toFixed(0)}) | ${x.graceExtended} |`);
    }
    const effect = base ? outageEffect(r, base) : null;
    if (effect?.length) {
      lines.push(
        '',
        `The outage's effect, customer by customer, against the same population without it (\`--recovery-outage-hours 0\`, results/recovery-outage0.json): renewals paid by the end out of the ${r.n} (whether they first failed or not).`,
        '',
        '| policy | paid without the outage | paid with it | change | lost to it (touched / elsewhere) | won with it (touched / elsewhere) |',
        '|---|---|---|---|---|---|',
      );
      for (const e of effect)
        lines.push(
          `| ${e.name} | ${e.paidWithout} (${pct(e.paidWithout / r.n)}) | ${e.paidWith} (${pct(e.paidWith / r.n)}) | ${e.paidWith - e.paidWithout >= 0 ? '+' : ''}${e.paidWith - e.paidWithout} (${((e.paidWith - e.paidWithout) / r.n * 100).toFixed(2)} points) | ${e.all.lost} (${e.touched.lost} / ${e.all.lost - e.touched.lost}) | ${e.all.gained} (${e.touched.gained} / ${e.all.gained - e.touched.gained}) |`,
        );
    }
  }
  lines.push('', 'How each schedule is expressed as a renewd policy:', '');
  for (const p of r.policies) lines.push(`- **${p.name}**: ${p.source}. Override: \`${JSON.stringify(p.policy)}\`.`);
  const breaches = r.policies.flatMap((p) => p.caps.breaches.map((b) => `${p.id}: ${b}`));
  if (breaches.length) lines.push('', '**The run FAILED: network caps breached.**', '', ...breaches.map((b) => `- ${b}`));
  const open = r.policies.filter((p) => p.unsettled);
  if (open.length) lines.push('', `**The run FAILED: renewal invoices still open at the end: ${open.map((p) => `${p.id} ${p.unsettled}`).join(', ')}.**`);
  lines.push('');
  return lines.join('\n');
}

/** Recovered share (bars) and retries per recovery (text), one row per policy. */
export function recoverySvg(r: RecoveryResult, stamp: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const W = 860;
  const left = 230;
  const right = 250;
  const rowH = 34;
  const top = 60;
  const H = top + r.policies.length * rowH + 40;
  const x = (v: number) => left + v * (W - left - right);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="600">renewd recovery benchmark — share of failed renewals recovered</text>`,
    `<text x="16" y="42" fill="#555">${esc(`${stamp} · ${r.n} failed renewals, seed ${r.seed}, grace ${r.graceDays} d${r.outageHours ? `, ${r.outageHours} h ${r.outageMode === 'issuer' ? 'issuer' : 'gateway'} outage` : ''} · dark: revenue share · right: retries per recovery, median days`)}</text>`,
  ];
  for (let t = 0; t <= 1.0001; t += 0.25) {
    parts.push(`<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${top + r.policies.length * rowH}" stroke="#eee"/>`);
    parts.push(`<text x="${x(t)}" y="${top + r.policies.length * rowH + 16}" text-anchor="middle" fill="#777" font-size="11">${Math.round(t * 100)} %</text>`);
  }
  r.policies.forEach((p, i) => {
    const y = top + i * rowH;
    const rev = p.revenueFailed ? p.revenueRecovered / p.revenueFailed : 0;
    const color = p.caps.breaches.length ? '#d0443e' : p.id === 'renewd' ? '#2e9e5b' : '#4a78c2';
    parts.push(`<text x="${left - 8}" y="${y + 21}" text-anchor="end">${esc(p.name)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 6}" width="${Math.max(1, x(p.recoveredShare) - left)}" height="${rowH - 20}" fill="${color}" rx="2"/>`);
    parts.push(`<rect x="${left}" y="${y + rowH - 14}" width="${Math.max(1, x(rev) - left)}" height="6" fill="#333" opacity="0.55"/>`);
    parts.push(`<text x="${x(p.recoveredShare) + 6}" y="${y + 18}" fill="#333">${(p.recoveredShare * 100).toFixed(1)} %</text>`);
    parts.push(`<text x="${W - right + 60}" y="${y + 21}" fill="#333">${esc(`${num(p.retriesPerRecovery)} retries/rec · ${num(p.medianDaysToRecovery, 1)} d${p.caps.breaches.length ? ' · CAP BREACH' : ''}`)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
