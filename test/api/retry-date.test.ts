// Issue 18 item 4, end to end with the test clock: a customer in grace chooses the day of the next
// attempt (POST /v1/invoices/{id}/retry-date); it is planned then (next_retry_why customer_chosen),
// shown in the timeline and the e-mails, made that day, and refused outside grace, in the past,
// when not past due, or when the card networks' caps would forbid an attempt then.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { latestInvoice, portalToken, problemOf, scriptNextCharges } from './helpers.ts';

const DAY = 86_400_000;
/** The day in Paris (the accounts' zone) of an instant. */
const parisDay = (ms: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));

describe('The customer chooses when the next attempt is made', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
    await createPlans(t);
  });
  after(() => t?.close());

  const now = async () => (await t.now()).getTime();
  const sub = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;

  test('a day in grace: planned at 10:00 local that day, in the timeline and e-mails; the schedule before it is skipped; made that day', async () => {
    const A = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
    const inv = (await latestInvoice(t, A)).id;
    const attemptsBefore = (await latestInvoice(t, A)).attempts.length;
    const tok = await portalToken(t, A);
    const day = parisDay((await now()) + 6 * DAY);
    const r = await t.api('POST', `/v1/invoices/${inv}/retry-date`, { date: day }, tok);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.next_retry_why, 'customer_chosen');
    assert.equal(r.body.next_retry_at, r.body.at);
    assert.equal(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' }).format(new Date(r.body.at)), '10:00');
    const s = await sub(A);
    assert.equal(s.next_retry_why, 'customer_chosen');
    assert.equal(s.chosen_retry_at, r.body.at);
    const tl = (await t.api('GET', `/v1/accounts/${A}/timeline`)).body;
    assert.ok(tl.events.some((e: any) => e.type === 'dunning.retry_date_chosen' && e.data.at === r.body.at));
    assert.ok(tl.events.some((e: any) => e.type === 'dunning.retry_planned' && e.data.why === 'customer_chosen'));
    assert.equal(tl.next.retry_why, 'customer_chosen');
    // The schedule's attempts before that day are not made; on the day, one attempt, and it pays.
    await scriptNextCharges(t, A, 'succeeded');
    await t.advanceTo(new Date(Date.parse(r.body.at) - 60_000));
    assert.equal((await latestInvoice(t, A)).attempts.length, attemptsBefore);
    await t.advanceTo(new Date(Date.parse(r.body.at) + 60_000));
    const after = await latestInvoice(t, A);
    assert.equal(after.attempts.length, attemptsBefore + 1);
    assert.equal(Date.parse(after.attempts.at(-1).at), Date.parse(r.body.at));
    assert.equal(after.status, 'paid');
    assert.equal((await sub(A)).chosen_retry_at, null);
  });

  test('refusals: malformed 400; past, today, after grace, not past due 409 retry_date_unavailable with its reason; nothing changes', async () => {
    const B = await subscribedAccount(t, { later: CARDS.insufficient_funds });
    await t.advance(31);
    const inv = (await latestInvoice(t, B)).id;
    const tok = await portalToken(t, B);
    const before = await sub(B);
    const n = await now();
    for (const date of ['2026-13-01', '2026-02-30', 'tomorrow', '']) problemOf(await t.api('POST', `/v1/invoices/${inv}/retry-date`, { date }, tok), 400, 'validation_error');
    const reason = async (date: string) => {
      const r = await t.api('POST', `/v1/invoices/${inv}/retry-date`, { date }, tok);
      problemOf(r, 409, 'retry_date_unavailable');
      return r.body.reason;
    };
    assert.equal(await reason(parisDay(n - DAY)), 'date_not_in_future');
    assert.equal(await reason(parisDay(n + 40 * DAY)), 'outside_grace');
    assert.equal(await reason(parisDay(Date.parse(before.grace_ends_at) + DAY)), 'outside_grace'); // the day after grace ends
    assert.deepEqual(await sub(B), before);
    // Paid: not past due any more.
    assert.equal((await t.api('PUT', `/v1/accounts/${B}/payment-method`, { type: 'card', card: { number: CARDS.ok, exp_month: 12, exp_year: 2031, cvc: '123' } })).status, 200);
    assert.equal(await reason(parisDay(n + 2 * DAY)), 'invoice_not_past_due');
  });

  test('the networks\' caps: a day when the card has had its attempts in the last 30 days is refused (network_cap)', async () => {
    await t.api('PUT', '/v1/dunning-policy', { caps: { attempts_per_card_30d: 3, declines_per_card_24h: 8 }, retry_schedule: [1, 3, 5, 7, 10, 12] });
    try {
      const C = await subscribedAccount(t, { later: CARDS.insufficient_funds });
      await t.advance(31);
      const inv = (await latestInvoice(t, C)).id;
      const tok = await portalToken(t, C);
      // Two customer retries: the purchase, the renewal and these fill the card's 30-day count (3) and more.
      await t.api('POST', `/v1/invoices/${inv}/retry`, undefined, tok);
      const n = await now();
      problemOf(await t.api('POST', `/v1/invoices/${inv}/retry-date`, { date: parisDay(n + 2 * DAY) }, tok), 409, 'retry_date_unavailable');
      const r = await t.api('POST', `/v1/invoices/${inv}/retry-date`, { date: parisDay(n + 2 * DAY) }, tok);
      assert.equal(r.body.reason, 'network_cap');
    } finally {
      await t.api('PUT', '/v1/dunning-policy', {});
    }
  });
});
