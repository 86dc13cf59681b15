// The demo data set: plans, accounts in several locales and domain zones with sandbox cards, and
// (with the test clock) fifty days of history played through the real engine, so the console
// opens on accounts renewed, in grace for different reasons, recovered and downgraded.
import { SANDBOX_API_KEY } from '../sandbox/server.ts';
import { CommandError } from '../core/errors.ts';
import type { AppContext } from './context.ts';
import { advanceTestClock } from './advance.ts';
import { HelpDesk } from './help.ts';
import { DAY } from '../core/time.ts';
import type { Interval } from '../core/types.ts';

export const DEMO_CARDS = {
  ok: '4242424242424242',
  insufficient_funds: '4000000000009995',
  expired: '4000000000000069',
  processing_error: '4000000000000119',
  velocity: '4000000000006975',
  lost: '4000000000009987',
  generic: '4000000000000002',
  auth: '4000002760003184',
  attach_then_fail: '4000000000000341',
} as const;

/**
 * Stripe refuses a declining card when it is saved (it asks the issuer then), so a card that fails
 * at renewal is one that went bad after it was saved: the demo saves 4000000000000341 (it attaches,
 * then declines) and has the sandbox answer its charges with the decline the account should show.
 */
const DECLINES_LATER: Partial<Record<Card, string>> = {
  insufficient_funds: 'insufficient_funds',
  expired: 'expired_card',
  processing_error: 'processing_error',
  velocity: 'card_velocity_exceeded',
  lost: 'lost_card',
  generic: 'generic_decline',
};

type Card = keyof typeof DEMO_CARDS;

interface DemoAccount {
  name: string;
  email: string;
  locale: string;
  domain_zone: string;
  currency: string;
  time_zone: string;
  plan: string;
  interval: Interval;
  /** Day (from the start of the demo history) the account subscribes. */
  day: number;
  /** Card to switch to after subscribing (fails at renewal), if any. */
  later?: Card;
  /** Day a good card is put back (recovery), if any. */
  fixOn?: number;
}

export const DEMO_ACCOUNTS: DemoAccount[] = [
  { name: 'Acme SARL', email: 'factures@acme.example.fr', locale: 'fr-FR', domain_zone: 'fr', currency: 'EUR', time_zone: 'Europe/Paris', plan: 'pro', interval: 'month', day: 0 },
  { name: 'Bäckerei Huber', email: 'konto@huber.example.de', locale: 'de-DE', domain_zone: 'de', currency: 'EUR', time_zone: 'Europe/Berlin', plan: 'business', interval: 'month', day: 2, later: 'insufficient_funds' },
  { name: 'Ferretería López', email: 'pagos@lopez.example.es', locale: 'es-ES', domain_zone: 'es', currency: 'EUR', time_zone: 'Europe/Madrid', plan: 'pro', interval: 'month', day: 4, later: 'expired' },
  { name: 'Studio Rossi', email: 'amministrazione@rossi.example.it', locale: 'it-IT', domain_zone: 'it', currency: 'EUR', time_zone: 'Europe/Rome', plan: 'pro', interval: 'month', day: 16, later: 'processing_error', fixOn: 48 },
  { name: 'Padaria Silva', email: 'contas@silva.example.pt', locale: 'pt-PT', domain_zone: 'pt', currency: 'EUR', time_zone: 'Europe/Lisbon', plan: 'pro', interval: 'month', day: 18, later: 'velocity' },
  { name: 'Kwiaciarnia Nowak', email: 'faktury@nowak.example.pl', locale: 'pl-PL', domain_zone: 'pl', currency: 'EUR', time_zone: 'Europe/Warsaw', plan: 'business', interval: 'month', day: 17, later: 'auth' },
  { name: 'Globex Inc.', email: 'billing@globex.example.com', locale: 'en-US', domain_zone: 'com', currency: 'USD', time_zone: 'America/New_York', plan: 'business', interval: 'year', day: 1 },
  { name: 'Initech LLC', email: 'ap@initech.example.com', locale: 'en-US', domain_zone: 'com', currency: 'USD', time_zone: 'America/Chicago', plan: 'pro', interval: 'month', day: 3, later: 'lost' },
  { name: 'Umbrella Ltd', email: 'finance@umbrella.example.co.uk', locale: 'en-GB', domain_zone: 'uk', currency: 'USD', time_zone: 'Europe/London', plan: 'pro', interval: 'month', day: 25 },
  { name: 'Hooli GmbH', email: 'rechnung@hooli.example.de', locale: 'de-DE', domain_zone: 'de', currency: 'EUR', time_zone: 'Europe/Berlin', plan: 'pro', interval: 'month', day: 15, later: 'generic' },
  { name: 'Librairie Dubois', email: 'compta@dubois.example.fr', locale: 'fr-FR', domain_zone: 'fr', currency: 'EUR', time_zone: 'Europe/Paris', plan: 'business', interval: 'month', day: 10, later: 'insufficient_funds', fixOn: 44 },
  { name: 'Vandelay Industries', email: 'ap@vandelay.example.com', locale: 'en-US', domain_zone: 'com', currency: 'USD', time_zone: 'America/New_York', plan: 'pro', interval: 'month', day: 8, later: 'velocity', fixOn: 41 },
];

/** Help requests the demo opens at the end (by account name), the second one answered by the operator. */
export const DEMO_HELP: { account: string; message: string; answer?: string }[] = [
  { account: 'Hooli GmbH', message: 'Unsere Bank sagt, die Karte ist in Ordnung. Warum wurde die Zahlung abgelehnt, und was müssen wir tun?' },
  {
    account: 'Kwiaciarnia Nowak',
    message: 'Bank prosi o potwierdzenie płatności, ale nie dostałam żadnego linku. Co mam zrobić?',
    answer: 'Dzień dobry! Wysłaliśmy link do potwierdzenia płatności na adres faktury@nowak.example.pl. Można też podać nową kartę w sekcji „Dane rozliczeniowe”.',
  },
];

/** Days of history the demo plays through before "now". */
export const DEMO_HISTORY_DAYS = 50;

export async function seedPlans(ctx: AppContext) {
  const have = new Set((await ctx.commands.listPlans()).map((p) => p.id));
  const plans = [
    { id: 'free', name: 'Free', free: true, prices: [] },
    {
      id: 'pro',
      name: 'Pro',
      prices: [
        { currency: 'EUR', interval: 'month' as const, amount: 2900 },
        { currency: 'EUR', interval: 'year' as const, amount: 29000 },
        { currency: 'USD', interval: 'month' as const, amount: 3200 },
        { currency: 'USD', interval: 'year' as const, amount: 32000 },
      ],
    },
    {
      id: 'business',
      name: 'Business',
      prices: [
        { currency: 'EUR', interval: 'month' as const, amount: 9900 },
        { currency: 'EUR', interval: 'year' as const, amount: 99000 },
        { currency: 'USD', interval: 'month' as const, amount: 10900 },
        { currency: 'USD', interval: 'year' as const, amount: 109000 },
      ],
    },
  ];
  for (const p of plans) if (!have.has(p.id)) await ctx.commands.createPlan(p);
}

/** Saves the card an account switches to after subscribing (see DECLINES_LATER). */
async function saveLaterCard(ctx: AppContext, accountId: string, c: Card, card: (c: Card) => { type: 'card'; card: { number: string; exp_month: number; exp_year: number; cvc: string } }) {
  const code = DECLINES_LATER[c];
  if (!code || !ctx.sandboxUrl) return ctx.commands.setPaymentMethod(accountId, card(c));
  const saved = await ctx.commands.setPaymentMethod(accountId, card('attach_then_fail'));
  const ref = saved.payment_method.gateway_ref;
  const res = await fetch(`${ctx.sandboxUrl}/_sandbox/payment_methods/${encodeURIComponent(ref ?? '')}/script`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SANDBOX_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ steps: [{ outcome: code, forever: true }] }),
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`the demo could not script the sandbox card of ${accountId}: HTTP ${res.status}`);
}

/**
 * Seeds the demo. With the test clock, the clock must stand DEMO_HISTORY_DAYS before the target
 * "now"; history is then played forward to it through the engine, as real time would.
 */
export async function seedDemo(ctx: AppContext, opts: { until?: Date; log?: (s: string) => void } = {}) {
  const log = opts.log ?? (() => {});
  // Its cards are the sandbox's test numbers, typed in: never sent to a real gateway.
  if (ctx.gatewayKind !== 'sandbox') throw new CommandError('invalid', 'raw_card_data_not_accepted', 'the demo data set saves sandbox test cards: load it with RENEWD_GATEWAY=sandbox');
  await seedPlans(ctx);
  const { commands } = ctx;
  const start = ctx.clock.now();
  const card = (c: Card) => ({ type: 'card' as const, card: { number: DEMO_CARDS[c], exp_month: 12, exp_year: start.getUTCFullYear() + 4, cvc: '123' } });
  const ids = new Map<string, string>();
  const days = [...new Set(DEMO_ACCOUNTS.flatMap((a) => [a.day, a.fixOn ?? a.day]))].sort((a, b) => a - b);
  for (const day of days) {
    if (ctx.testClock && day > 0) await advanceTestClock(ctx.db, ctx.testClock, new Date(start.getTime() + day * DAY), ctx.runners);
    for (const a of DEMO_ACCOUNTS) {
      if (a.day === day) {
        const acct = await commands.createAccount(a);
        ids.set(a.name, acct.id);
        await commands.setPaymentMethod(acct.id, card('ok'));
        await commands.subscribe({ account_id: acct.id, plan_id: a.plan, interval: a.interval });
        if (a.later) await saveLaterCard(ctx, acct.id, a.later, card);
        log(`  ${a.name} (${a.locale}, .${a.domain_zone}) on ${a.plan}/${a.interval}${a.later ? `, card will decline: ${a.later}` : ''}`);
      }
      if (a.fixOn === day && ctx.testClock) await commands.setPaymentMethod(ids.get(a.name)!, card('ok'));
    }
  }
  if (ctx.testClock) {
    const until = opts.until ?? new Date(start.getTime() + DEMO_HISTORY_DAYS * DAY);
    await advanceTestClock(ctx.db, ctx.testClock, until, ctx.runners);
    // Help requests about renewals in grace: one waiting for the operator, one answered.
    const desk = new HelpDesk(commands, `${ctx.publicUrl.replace(/\/+$/, '')}/portal`);
    for (const h of DEMO_HELP) {
      const id = ids.get(h.account);
      const inv = id ? (await commands.invoices(id)).find((i) => i.status === 'past_due') : undefined;
      if (!inv) continue;
      const req = await desk.create(inv.id, { message: h.message, requested_by: 'customer' });
      if (h.answer) await desk.answer(req.id, h.answer);
      log(`  help request from ${h.account}${h.answer ? ' (answered)' : ''}`);
    }
    for (const r of ctx.runners) await r.drain();
  }
  return ids;
}
