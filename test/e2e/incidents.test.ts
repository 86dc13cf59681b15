// Outage-aware grace (issue #18 item 2) end to end, through HTTP, the sandbox PSP and the test
// clock: an issuer outage makes every renewal of the billing run fail technically → an incident
// opens (event, webhook catalog, operator e-mail, console banner) → no attempt while it is open →
// the failures stop → it closes → grace extended by its length, the held retries spread → paid.
// Then a gateway outage window (503s: unknown outcomes) opens a gateway incident.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, ADMIN_KEY, type TestService } from '../helpers/service.ts';
import { KNOWN_EVENT_TYPES } from '../../src/notify/events.ts';
import { formToPolicy } from '../../src/web/console/policy.ts';

test('the console policy form carries the incident thresholds; a form without them leaves them to the default', () => {
  const form = { 'incidents.enabled': 'on', 'incidents.window_minutes': '10', 'incidents.baseline_hours': '12', 'incidents.min_declines': '7', 'incidents.ratio': '2.5', 'incidents.spread_minutes': '30' };
  const { policy, errors } = formToPolicy(form);
  assert.deepEqual(policy.incidents, { enabled: true, window_minutes: 10, baseline_hours: 12, min_declines: 7, ratio: 2.5, spread_minutes: 30 });
  assert.deepEqual(Object.keys(errors).filter((k) => k.startsWith('incidents.')), []);
  assert.equal(formToPolicy({ ...form, 'incidents.enabled': '' }).policy.incidents?.enabled, false);
  assert.deepEqual(formToPolicy({ ...form, 'incidents.min_declines': 'many' }).errors['incidents.min_declines'], '"many" is not a number.');
  assert.equal(formToPolicy({}).policy.incidents, undefined);
});

const RENEWAL = Date.parse('2026-02-28T09:00:00.000Z');
const min = (m: number) => new Date(RENEWAL + m * 60_000).toISOString();
/** Renew at +0 (their failures reveal the outage) and at +10 min (during the incident). */
const FIRST = 6;
const SECOND = 3;
const N = FIRST + SECOND;

describe('incidents end to end (PGlite)', () => {
  let t: TestService;
  const ids: string[] = [];
  const events = async (type: string) =>
    (await t.svc.ctx.db.query<any>('SELECT data, occurred_at FROM events WHERE type = $1 ORDER BY id', [type])).map((r) => ({ ...r.data, occurred_at: new Date(r.occurred_at).toISOString() }));
  const sub = async (id: string) => (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
  const attempts = async () =>
    (await t.svc.ctx.db.query<any>('SELECT account_id, created_at, outcome FROM payment_attempts WHERE created_at >= $1 ORDER BY created_at', [min(0)])).map((r) => ({ ...r, created_at: new Date(r.created_at).toISOString() }));

  /** A console page as a signed-in operator sees it. */
  async function consolePage(path: string): Promise<string> {
    const login = await fetch(`${t.url}/console/login`);
    let cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())?.[1] ?? '';
    const r = await fetch(`${t.url}/console/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ _csrf: csrf, key: ADMIN_KEY }).toString(),
      redirect: 'manual',
    });
    cookie = (r.headers.get('set-cookie') ?? cookie).split(';')[0];
    return fetch(`${t.url}${path}`, { headers: { cookie } }).then((x) => x.text());
  }

  before(async () => {
    t = await startTestService({ config: { operatorEmail: 'ops@renewd.example' } });
    await createPlans(t);
    // Quick technical retries (15 min) so the incident has retries to hold; a small billing run.
    const p = await t.api('PUT', '/v1/dunning-policy', {
      technical_retry_hours: [0.25, 8],
      incidents: { enabled: true, window_minutes: 30, baseline_hours: 24, min_declines: 5, ratio: 5, spread_minutes: 20 },
    });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.deepEqual(p.body.incidents, { enabled: true, window_minutes: 30, baseline_hours: 24, min_declines: 5, ratio: 5, spread_minutes: 20 });
    for (let i = 0; i < N; i++) {
      if (i === FIRST) await t.advanceTo('2026-01-31T09:10:00.000Z'); // their periods end 10 minutes later
      const id = await subscribedAccount(t);
      ids.push(id);
      // The issuer is down for the first 30 minutes of the billing run.
      const r = await t.sandbox('POST', '/_sandbox/scripts', { target: { account_id: id }, steps: [{ outcome: 'issuer_not_available', until: min(30) }, { outcome: 'succeed', forever: true }] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(() => t?.close());

  test('the incident opens with the billing run, holds the retries, closes, extends grace and spreads the retries; everyone pays', async () => {
    assert.ok(KNOWN_EVENT_TYPES.includes('incident.opened') && KNOWN_EVENT_TYPES.includes('incident.closed'), 'webhooks can subscribe to them');
    await t.advanceTo(min(0));
    const [opened] = await events('incident.opened');
    assert.ok(opened, 'opened');
    assert.equal(opened.scope, 'gateway');
    assert.equal(opened.technical_declines, FIRST);
    assert.equal((await events('incident.opened')).length, 1, 'no brand incident beside the gateway one');
    const graceBefore = new Map<string, string>();
    for (const id of ids.slice(0, FIRST)) graceBefore.set(id, (await sub(id)).grace_ends_at);
    const mails = async (template: string) => (await t.svc.ctx.db.query<any>('SELECT to_address FROM notifications WHERE template = $1', [template])).map((m) => m.to_address);
    // The failures that revealed the outage were mailed as usual; the operator hears of the incident.
    assert.equal((await mails('renewal_failed')).length, FIRST);
    assert.deepEqual(await mails('incident_opened'), ['ops@renewd.example']);
    // The console: a banner on every page, the incident on the dashboard.
    for (const path of ['/console', '/console/accounts', '/console/policy']) assert.match(await consolePage(path), /class="[^"]*incident-banner[^"]*"[^>]*><p><strong>Payment incident<\/strong> — the payment gateway since/, path);
    assert.match(await consolePage('/console'), /<h2 id="incidents-title">Payment incidents<\/h2>[\s\S]*<strong>open<\/strong>/);
    assert.doesNotMatch(await fetch(`${t.url}/console/login`).then((r) => r.text()), /incident-banner/, 'not before sign-in');

    // Every five minutes: the second group's renewals fail during the incident (no mail blaming
    // the card), and the retries planned 15 minutes after each failure are held.
    for (let m = 5; m <= 30; m += 5) {
      await t.advanceTo(min(m));
      assert.equal((await attempts()).length, m < 10 ? FIRST : N, `no retry at +${m} min`);
    }
    for (const id of ids.slice(FIRST)) graceBefore.set(id, (await sub(id)).grace_ends_at);
    assert.equal((await mails('renewal_failed')).length, FIRST, 'the second group was not told its card failed');
    assert.equal((await events('dunning.failure_mail_withheld')).length, SECOND);
    const held = await sub(ids[0]);
    assert.equal(held.status, 'past_due');
    assert.equal(held.next_retry_why, 'incident');
    assert.equal(held.next_retry_at, null);
    assert.equal((await events('incident.closed')).length, 0, 'still open: the first failures are in the window');

    // At +35 min the window holds only the second group's 3 failures: below min_declines.
    await t.advanceTo(min(35));
    const [closed] = await events('incident.closed');
    assert.ok(closed, 'closed once the window has no failures');
    assert.doesNotMatch(await consolePage('/console'), /incident-banner/, 'no banner once closed');
    assert.equal(closed.closed_at, min(35));
    const lengthMs = Date.parse(closed.closed_at) - Date.parse(closed.opened_at);
    for (const id of ids) {
      const s1 = await sub(id);
      assert.equal(Date.parse(s1.grace_ends_at) - Date.parse(graceBefore.get(id)!), lengthMs + 20 * 60_000, 'grace extended by the incident and the spread');
      assert.equal(s1.next_retry_why, 'incident_recovery');
      assert.ok(s1.next_retry_at >= min(35) && s1.next_retry_at < min(55), s1.next_retry_at);
    }
    const extended = await events('dunning.grace_extended');
    assert.equal(extended.length, N);
    // Each renewal charge failed in the incident's window (the first group's revealed it): given back.
    assert.deepEqual(extended.map((e) => e.attempts_given_back), Array(N).fill(1));

    await t.advanceTo(min(60));
    const after = await attempts();
    const retries = after.slice(N);
    assert.equal(retries.length, N, 'one retry each, after the close');
    for (const r of retries) {
      assert.equal(r.outcome, 'succeeded');
      assert.ok(r.created_at >= min(35) && r.created_at < min(55), r.created_at);
    }
    assert.ok(new Set(retries.map((r) => r.created_at)).size >= N / 2, `spread: ${retries.map((r) => r.created_at)}`);
    for (const id of ids) assert.equal((await sub(id)).status, 'active');
    // Applying the close again changes nothing: each subscription had it once.
    await t.svc.ctx.engine.drain();
    assert.equal((await events('dunning.grace_extended')).length, N);
  });

  test('bad thresholds are refused with problem+json and change nothing', async () => {
    const before = (await t.api('GET', '/v1/dunning-policy')).body.incidents;
    const r = await t.api('PUT', '/v1/dunning-policy', { incidents: { window_minutes: 0, ratio: 0.5 } });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.deepEqual(r.body.errors.map((e: { field: string }) => e.field).sort(), ['incidents.ratio', 'incidents.window_minutes']);
    assert.equal((await t.api('PUT', '/v1/dunning-policy', { incidents: { surprise: 1 } })).status, 400);
    assert.deepEqual((await t.api('GET', '/v1/dunning-policy')).body.incidents, before);
  });
});

describe('a gateway outage window (PGlite)', () => {
  let t: TestService;
  const ids: string[] = [];
  const events = async (type: string) => (await t.svc.ctx.db.query<any>('SELECT data FROM events WHERE type = $1 ORDER BY id', [type])).map((r) => r.data);

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    const p = await t.api('PUT', '/v1/dunning-policy', { incidents: { min_declines: 5, window_minutes: 10 } });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    for (let i = 0; i < 6; i++) ids.push(await subscribedAccount(t));
    // The gateway answers 503 to everything for the first 20 minutes of the billing run.
    const f = await t.sandbox('POST', '/_sandbox/faults', { outages: [{ from: min(0), to: min(20), mode: 'error' }] });
    assert.equal(f.status, 200, JSON.stringify(f.body));
  });
  after(() => t?.close());

  test('5xx answers (unknown outcomes) open a gateway incident; it closes once the answers come back; nobody lost a day', async () => {
    await t.advanceTo(min(0));
    const [opened] = await events('incident.opened');
    assert.equal(opened?.scope, 'gateway');
    assert.equal(opened.technical_declines, 6);
    for (let m = 2; m <= 40; m += 2) await t.advanceTo(min(m));
    const [closed] = await events('incident.closed');
    assert.ok(closed, 'closed');
    assert.ok(closed.closed_at >= min(20) && closed.closed_at <= min(22), closed.closed_at);
    for (const id of ids) {
      const s = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
      assert.equal(s.status, 'active', id);
    }
    // Nothing was past due: no grace to extend, no failure mail.
    assert.equal((await events('dunning.grace_extended')).length, 0);
    assert.equal((await t.svc.ctx.db.query<any>("SELECT 1 FROM notifications WHERE template = 'renewal_failed'")).length, 0);
  });
});

// A retry spent in an outage is given back (issue #18: "a customer never loses the paid plan
// because our PSP or their bank was down"). Each invoice may make 2 automatic attempts: the renewal
// charge (a card decline) and one retry, on day 1, which meets the issuers' outage (technical
// declines: they reveal it). Had that failure counted, nothing would be tried again and grace would
// end in a downgrade; given back, the retry is made again once the incident closes, and the
// customer (whose money came in that morning) pays.
describe('a retry spent in an issuer outage is given back (PGlite)', () => {
  let t: TestService;
  const ids: string[] = [];
  const DAY1 = RENEWAL + 24 * 3_600_000;
  const at = (m: number) => new Date(DAY1 + m * 60_000).toISOString();
  const events = async (type: string) => (await t.svc.ctx.db.query<any>('SELECT data FROM events WHERE type = $1 ORDER BY id', [type])).map((r) => r.data);

  before(async () => {
    t = await startTestService();
    await createPlans(t);
    const p = await t.api('PUT', '/v1/dunning-policy', {
      max_automatic_attempts: 2,
      retry_schedule: [1, 5],
      technical_retry_hours: [],
      incidents: { enabled: true, window_minutes: 10, baseline_hours: 24, min_declines: 5, ratio: 5, spread_minutes: 20 },
    });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    for (let i = 0; i < 6; i++) {
      const id = await subscribedAccount(t);
      ids.push(id);
      // No funds at the renewal; the money comes in on the morning of day 1, when the issuer is down
      // from 08:55 to 09:05.
      const steps = [{ outcome: 'insufficient_funds', until: at(-60) }, { outcome: 'issuer_not_available', until: at(5) }, { outcome: 'succeed', forever: true }];
      const r = await t.sandbox('POST', '/_sandbox/scripts', { target: { account_id: id }, steps });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(() => t?.close());

  test('the retry that failed in the outage does not count: it is made again after the incident and the renewal is paid', async () => {
    await t.advanceTo(min(0));
    for (const id of ids) assert.equal((await t.api('GET', `/v1/accounts/${id}/subscription`)).body.status, 'past_due');
    for (let m = -2; m <= 60; m += 2) await t.advanceTo(at(m));
    const [opened] = await events('incident.opened');
    assert.equal(opened?.scope, 'gateway');
    const [closed] = await events('incident.closed');
    assert.ok(closed, 'the incident closed once the issuers answered again');
    const extended = await events('dunning.grace_extended');
    assert.equal(extended.length, ids.length);
    assert.deepEqual(extended.map((e) => e.attempts_given_back), Array(ids.length).fill(1));
    for (const id of ids) {
      const s = (await t.api('GET', `/v1/accounts/${id}/subscription`)).body;
      assert.equal(s.status, 'active', `${id}: ${JSON.stringify(s)}`);
      const rows = await t.svc.ctx.db.query<any>('SELECT trigger, outcome, retry_class FROM payment_attempts WHERE account_id = $1 AND created_at >= $2 ORDER BY created_at', [id, min(0)]);
      // The renewal charge (declined), the retry the outage failed (technical), the retry made again (paid).
      assert.deepEqual(rows.map((r) => [r.trigger, r.outcome, r.retry_class]), [['scheduled', 'declined', 'later'], ['scheduled', 'declined', 'soon'], ['scheduled', 'succeeded', null]]);
    }
  });
});
