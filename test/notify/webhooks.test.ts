// Webhooks on PGlite and on a PostgreSQL server: signatures, endpoints, fan-out of events with a
// cursor (including events that commit out of id order), delivery to a real HTTP receiver that
// verifies every signature, retries with backoff on an injected clock, and an endpoint that keeps
// failing being disabled with the operator told.
import { matchesEventType } from '../../src/notify/events.ts';
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import type { Queryable } from '../../src/store/db.ts';
import { signPayload, signatureHeader, verifySignature } from '../../src/notify/signing.ts';
import { createEndpoint, deleteEndpoint, getEndpoint, listDeliveries, listEndpoints, updateEndpoint } from '../../src/notify/webhook-endpoints.ts';
import { CURSOR_KEY, fanOutEvents } from '../../src/notify/fan-out.ts';
import { WEBHOOK_RETRY_SCHEDULE_MS, createWebhookDeliverer } from '../../src/notify/webhook-delivery.ts';
import { listNotifications } from '../../src/notify/outbox.ts';
import { manualClock, startReceiver, type TestReceiver } from './helpers.ts';
import { CommandError } from '../../src/core/errors.ts';

/** A refused input: kind invalid, code validation_error, one error naming the field. */
const invalidField = (field: string) => (err: unknown) =>
  err instanceof CommandError && err.kind === 'invalid' && err.code === 'validation_error' && err.fields.length === 1 && err.fields[0].field === field;

/** The receivers of these tests listen on 127.0.0.1: the development setting allows it. */
const DEV = { allowPrivate: true };
const T0 = '2026-03-01T09:00:00.000Z';
const MIN = 60_000;
const HOUR = 3_600_000;

describe('signatures', () => {
  const secret = 'whsec_test_secret';
  const body = JSON.stringify({ id: 'evt_1', type: 'invoice.paid', created: T0, data: { amount: 2900 } });
  const now = new Date(T0);
  const t = Math.floor(now.getTime() / 1000);

  test('a signed body verifies; the header is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const header = signatureHeader(secret, body, t);
    assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.equal(header, `t=${t},v1=${signPayload(secret, body, t)}`);
    assert.ok(verifySignature(secret, header, body, now));
    assert.ok(verifySignature(secret, header, Buffer.from(body), now.getTime()));
  });

  test('a tampered body, another secret, a stale or future timestamp, or a malformed header fail', () => {
    const header = signatureHeader(secret, body, t);
    assert.equal(verifySignature(secret, header, body.replace('2900', '1'), now), false);
    assert.equal(verifySignature('whsec_other', header, body, now), false);
    assert.equal(verifySignature(secret, header, body, new Date(now.getTime() + 301_000)), false);
    assert.equal(verifySignature(secret, header, body, new Date(now.getTime() - 301_000)), false);
    assert.ok(verifySignature(secret, header, body, new Date(now.getTime() + 299_000)));
    assert.ok(verifySignature(secret, header, body, new Date(now.getTime() + 3_600_000), 7200), 'tolerance is a parameter');
    for (const bad of ['', 'garbage', `t=${t}`, `v1=${signPayload(secret, body, t)}`, `t=abc,v1=${signPayload(secret, body, t)}`, `t=${t},v1=zz`]) {
      assert.equal(verifySignature(secret, bad, body, now), false, bad);
    }
    assert.equal(verifySignature(secret, undefined, body, now), false);
    // Re-signing the tampered body with a guessed timestamp does not help without the secret.
    assert.equal(verifySignature(secret, signatureHeader('guess', body, t), body, now), false);
  });

  test('any one of several v1 signatures is enough (secret rotation)', () => {
    const header = `t=${t},v1=${signPayload('whsec_old', body, t)},v1=${signPayload(secret, body, t)}`;
    assert.ok(verifySignature(secret, header, body, now));
    assert.ok(verifySignature('whsec_old', header, body, now));
  });

  test('event type patterns', () => {
    assert.ok(matchesEventType(['*'], 'invoice.paid'));
    assert.ok(matchesEventType(['invoice.*'], 'invoice.paid'));
    assert.ok(!matchesEventType(['invoice.*'], 'invoices.paid'));
    assert.ok(matchesEventType(['subscription.renewed', 'invoice.paid'], 'invoice.paid'));
    assert.ok(!matchesEventType(['invoice.paid'], 'invoice.created'));
  });
});

async function insertEvent(q: Queryable, type: string, at: string | Date, data: Record<string, unknown> = {}, ids: { account_id?: string; invoice_id?: string } = {}) {
  const [r] = await q.query<{ id: number }>(
    `INSERT INTO events (account_id, subscription_id, invoice_id, type, data, occurred_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [ids.account_id ?? 'acct_1', 'sub_1', ids.invoice_id ?? 'inv_1', type, JSON.stringify(data), new Date(at)],
  );
  return Number(r.id);
}

for (const engine of ENGINES) {
  describe(`webhooks on ${engine}`, () => {
    let t: TestDb;
    let rx: TestReceiver;
    before(async () => {
      [t, rx] = await Promise.all([createTestDatabase(engine), startReceiver()]);
    });
    after(async () => {
      await rx?.close();
      await t?.drop();
    });
    beforeEach(async () => {
      await t.db.query('DELETE FROM webhook_delivery_attempts');
      await t.db.query('DELETE FROM webhook_deliveries');
      await t.db.query('DELETE FROM webhook_endpoints');
      await t.db.query('DELETE FROM notifications');
      // Start every test with the cursor past all earlier events.
      await fanOutEvents(t.db, new Date(T0));
      rx.requests.length = 0;
      rx.respond = () => 200;
    });

    test('endpoints: the secret is returned once; list, get, update, delete', async () => {
      const ep = await createEndpoint(t.db, { url: 'https://example.com/hooks', event_types: ['invoice.paid', 'invoice.paid', 'subscription.*'], now: new Date(T0) });
      assert.match(ep.id, /^we_/);
      assert.match(ep.secret, /^whsec_[A-Za-z0-9_-]{32}$/);
      assert.deepEqual(ep.event_types, ['invoice.paid', 'subscription.*']);
      assert.equal(ep.status, 'enabled');
      const listed = await listEndpoints(t.db);
      assert.equal(listed.length, 1);
      assert.equal('secret' in listed[0], false);
      assert.equal('secret' in (await getEndpoint(t.db, ep.id))!, false);

      const off = await updateEndpoint(t.db, ep.id, { status: 'disabled', event_types: ['*'], now: new Date(T0) });
      assert.equal(off!.status, 'disabled');
      assert.deepEqual(off!.event_types, ['*']);
      assert.equal(off!.disabled_reason, 'disabled by the operator');
      const on = await updateEndpoint(t.db, ep.id, { status: 'enabled', now: new Date(T0) });
      assert.equal(on!.status, 'enabled');
      assert.equal(on!.disabled_at, null);
      assert.equal(await updateEndpoint(t.db, 'we_missing', { status: 'enabled', now: new Date(T0) }), null);

      await assert.rejects(createEndpoint(t.db, { url: 'ftp://example.com/x', event_types: ['*'], now: new Date(T0) }), invalidField('url'));
      await assert.rejects(createEndpoint(t.db, { url: 'not a url', event_types: ['*'], now: new Date(T0) }), invalidField('url'));
      await assert.rejects(createEndpoint(t.db, { url: 'https://example.com', event_types: [], now: new Date(T0) }), invalidField('event_types'));
      await assert.rejects(createEndpoint(t.db, { url: 'https://example.com', event_types: ['Invoice Paid'], now: new Date(T0) }), invalidField('event_types'));
      await assert.rejects(updateEndpoint(t.db, ep.id, { status: 'paused' as 'enabled', now: new Date(T0) }), invalidField('status'));

      await insertEvent(t.db, 'invoice.paid', T0);
      await fanOutEvents(t.db, new Date(T0));
      assert.equal((await listDeliveries(t.db, ep.id)).length, 1);
      assert.equal(await deleteEndpoint(t.db, ep.id), true);
      assert.equal(await deleteEndpoint(t.db, ep.id), false);
      assert.equal(await getEndpoint(t.db, ep.id), null);
      assert.equal((await t.db.query('SELECT 1 FROM webhook_deliveries')).length, 0);
    });

    test('fan-out: one delivery per subscribed, enabled endpoint; idempotent; cursor in settings', async () => {
      const now = new Date(T0);
      await insertEvent(t.db, 'invoice.paid', '2026-02-28T00:00:00Z'); // before the endpoints existed
      const all = await createEndpoint(t.db, { url: rx.url, event_types: ['*'], now, targets: DEV });
      const paid = await createEndpoint(t.db, { url: rx.url, event_types: ['invoice.paid'], now, targets: DEV });
      const subs = await createEndpoint(t.db, { url: rx.url, event_types: ['subscription.*'], now, targets: DEV });
      const off = await createEndpoint(t.db, { url: rx.url, event_types: ['*'], now, targets: DEV });
      await updateEndpoint(t.db, off.id, { status: 'disabled', now });

      const e1 = await insertEvent(t.db, 'invoice.paid', T0, { amount: 2900, currency: 'EUR' });
      const e2 = await insertEvent(t.db, 'subscription.renewed', T0, { period_end: '2026-04-01T09:00:00.000Z' });
      const e3 = await insertEvent(t.db, 'payment_attempt.failed', T0, { reason: 'insufficient_funds' });
      const r = await fanOutEvents(t.db, now);
      assert.deepEqual(r, { events: 4, deliveries: 5 }, 'the event from before the endpoints is read, but goes nowhere');
      const by = async (id: string) => (await listDeliveries(t.db, id, { includePayload: true })).map((d) => d.event_id).sort();
      assert.deepEqual(await by(all.id), [`evt_${e1}`, `evt_${e2}`, `evt_${e3}`].sort());
      assert.deepEqual(await by(paid.id), [`evt_${e1}`]);
      assert.deepEqual(await by(subs.id), [`evt_${e2}`]);
      assert.deepEqual(await by(off.id), []);
      assert.equal((await listDeliveries(t.db, null)).length, 5, 'all endpoints');

      const [d] = await listDeliveries(t.db, paid.id, { includePayload: true });
      assert.deepEqual(d.payload, {
        id: `evt_${e1}`,
        type: 'invoice.paid',
        created: T0,
        data: { amount: 2900, currency: 'EUR', account_id: 'acct_1', subscription_id: 'sub_1', invoice_id: 'inv_1' },
      });
      assert.equal(d.status, 'pending');
      assert.equal(d.next_attempt_at!.toISOString(), T0);

      assert.deepEqual(await fanOutEvents(t.db, now), { events: 0, deliveries: 0 }, 'nothing new');
      const [cur] = await t.db.query<{ value: { last_event_id: number } }>(`SELECT value FROM settings WHERE key = $1`, [CURSOR_KEY]);
      assert.equal(Number(cur.value.last_event_id), e3);
    });

    test('fan-out remembers a skipped id until its event commits (or the wait expires)', async () => {
      const now = new Date(T0);
      const ep = await createEndpoint(t.db, { url: rx.url, event_types: ['*'], now, targets: DEV });
      if (engine === 'postgres') {
        // A transaction takes an id and commits only after a later id has been fanned out.
        let inserted!: () => void;
        const didInsert = new Promise<void>((r) => (inserted = r));
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const slow = t.db.tx(async (q) => {
          await insertEvent(q, 'invoice.created', T0, { slow: true });
          inserted();
          await gate;
        });
        await didInsert;
        await insertEvent(t.db, 'invoice.paid', T0, { fast: true });
        assert.deepEqual(await fanOutEvents(t.db, now), { events: 1, deliveries: 1 });
        release();
        await slow;
        assert.deepEqual(await fanOutEvents(t.db, now), { events: 1, deliveries: 1 }, 'the late event is delivered');
        const types = (await listDeliveries(t.db, ep.id)).map((d) => d.event_type).sort();
        assert.deepEqual(types, ['invoice.created', 'invoice.paid']);
      }
      // A rolled-back insert leaves a gap for good: it is dropped once the wait has passed.
      await assert.rejects(
        t.db.tx(async (q) => {
          await insertEvent(q, 'invoice.voided', T0);
          throw new Error('rolled back');
        }),
      );
      await insertEvent(t.db, 'invoice.paid', T0);
      let wall = 1_000_000;
      assert.equal((await fanOutEvents(t.db, now, { wallClock: () => wall })).events, 1);
      const gaps = async () => (await t.db.query<{ value: { gaps: unknown[] } }>(`SELECT value FROM settings WHERE key = $1`, [CURSOR_KEY]))[0].value.gaps;
      assert.equal((await gaps()).length, 1);
      wall += 59_000;
      await fanOutEvents(t.db, now, { wallClock: () => wall });
      assert.equal((await gaps()).length, 1);
      wall += 2_000;
      await fanOutEvents(t.db, now, { wallClock: () => wall });
      assert.equal((await gaps()).length, 0);
    });

    test('delivery: signed POST, receiver answers 500 twice then 200; retried with backoff on the clock', async () => {
      const clock = manualClock(T0);
      const ep = await createEndpoint(t.db, { url: rx.url, event_types: ['invoice.paid'], now: clock.now(), targets: DEV });
      const verified: boolean[] = [];
      rx.respond = (n, req) => {
        verified.push(verifySignature(ep.secret, req.headers['renewd-signature'] as string, req.body, WALL));
        return n < 2 ? 500 : 200;
      };
      const e = await insertEvent(t.db, 'invoice.paid', T0, { amount: 2900 });
      await fanOutEvents(t.db, clock.now());
      // Signatures carry the real time (a receiver checks t= against its own clock), never the test clock.
      const WALL = Date.parse('2031-06-01T12:00:00Z');
      const deliverer = createWebhookDeliverer({ db: t.db, clock, targets: DEV, signedAt: () => WALL });

      assert.deepEqual(await deliverer.runOnce(), { succeeded: 0, retrying: 1, failed: 0, disabled: 0 });
      let [d] = await listDeliveries(t.db, ep.id);
      assert.equal(d.status, 'pending');
      assert.equal(d.last_status_code, 500);
      assert.match(d.last_error!, /HTTP 500: receiver is down/);
      assert.equal(d.next_attempt_at!.getTime(), clock.now().getTime() + WEBHOOK_RETRY_SCHEDULE_MS[0]);
      assert.deepEqual(await deliverer.runOnce(), { succeeded: 0, retrying: 0, failed: 0, disabled: 0 }, 'not due yet');

      clock.advance(1 * MIN);
      assert.deepEqual(await deliverer.runOnce(), { succeeded: 0, retrying: 1, failed: 0, disabled: 0 });
      [d] = await listDeliveries(t.db, ep.id);
      assert.equal(d.next_attempt_at!.getTime(), clock.now().getTime() + 5 * MIN);
      clock.advance(5 * MIN - 1000);
      assert.equal((await deliverer.runOnce()).retrying + (await deliverer.runOnce()).succeeded, 0);
      clock.advance(1000);
      assert.deepEqual(await deliverer.runOnce(), { succeeded: 1, retrying: 0, failed: 0, disabled: 0 });

      [d] = await listDeliveries(t.db, ep.id);
      assert.equal(d.status, 'succeeded');
      assert.equal(d.attempts, 3);
      assert.equal(d.delivered_at!.toISOString(), clock.now().toISOString());
      assert.deepEqual(d.attempt_log.map((a) => [a.attempt, a.status_code]), [[1, 500], [2, 500], [3, 200]]);
      assert.deepEqual(d.attempt_log.map((a) => a.attempted_at.getTime() - Date.parse(T0)), [0, 1 * MIN, 6 * MIN]);

      assert.equal(rx.requests.length, 3);
      assert.deepEqual(verified, [true, true, true], 'every attempt verifies with the endpoint secret');
      for (const [i, req] of rx.requests.entries()) {
        assert.equal(req.method, 'POST');
        assert.equal(req.url, '/hooks');
        assert.equal(req.headers['content-type'], 'application/json');
        assert.equal(req.headers['renewd-event-id'], `evt_${e}`);
        assert.equal(req.headers['renewd-delivery-attempt'], String(i + 1));
        assert.equal(req.body, rx.requests[0].body, 'the same body every time');
        const t = Number(/t=(\d+)/.exec(req.headers['renewd-signature'] as string)![1]);
        assert.equal(t, Math.floor(WALL / 1000), 'signed at the real time of the attempt, not at the test clock');
      }
      const body = JSON.parse(rx.requests[0].body);
      assert.deepEqual(Object.keys(body), ['id', 'type', 'created', 'data']);
      assert.deepEqual(body, { id: `evt_${e}`, type: 'invoice.paid', created: T0, data: { amount: 2900, account_id: 'acct_1', subscription_id: 'sub_1', invoice_id: 'inv_1' } });
      // A receiver checking a tampered copy rejects it.
      const sig = rx.requests[0].headers['renewd-signature'] as string;
      const signedAt = new Date(WALL);
      assert.ok(verifySignature(ep.secret, sig, rx.requests[0].body, signedAt));
      assert.equal(verifySignature(ep.secret, sig, rx.requests[0].body.replace('2900', '29'), signedAt), false);
      const ok = await getEndpoint(t.db, ep.id);
      assert.equal(ok!.consecutive_failures, 0);
      assert.equal(ok!.failing_since, null);
    });

    test('an endpoint failing for more than a day is disabled; the operator gets an event and an e-mail', async () => {
      const clock = manualClock(T0);
      const ep = await createEndpoint(t.db, { url: rx.url, event_types: ['*'], now: clock.now(), targets: DEV });
      const healthy = await createEndpoint(t.db, { url: rx.url.replace('/hooks', '/healthy'), event_types: ['*'], now: clock.now(), targets: DEV });
      rx.respond = (_n, req) => (req.url === '/healthy' ? 204 : 503);
      await insertEvent(t.db, 'invoice.paid', T0);
      await fanOutEvents(t.db, clock.now());
      const deliverer = createWebhookDeliverer({ db: t.db, clock, targets: DEV, operatorEmail: 'ops@example.com' });

      const rounds = [];
      for (let i = 0; i <= WEBHOOK_RETRY_SCHEDULE_MS.length; i++) {
        rounds.push(await deliverer.runOnce());
        const [d] = await listDeliveries(t.db, ep.id);
        if (d.next_attempt_at) clock.set(d.next_attempt_at);
      }
      assert.deepEqual(rounds[0], { succeeded: 1, retrying: 1, failed: 0, disabled: 0 });
      assert.ok(rounds.slice(1, -1).every((r) => r.retrying === 1 && r.failed === 0 && r.disabled === 0));
      assert.deepEqual(rounds.at(-1), { succeeded: 0, retrying: 0, failed: 1, disabled: 1 });

      const [d] = await listDeliveries(t.db, ep.id);
      assert.equal(d.status, 'failed');
      assert.equal(d.attempts, WEBHOOK_RETRY_SCHEDULE_MS.length + 1);
      assert.equal(d.attempt_log.length, WEBHOOK_RETRY_SCHEDULE_MS.length + 1);
      const span = d.attempt_log.at(-1)!.attempted_at.getTime() - d.attempt_log[0].attempted_at.getTime();
      assert.ok(span >= 24 * HOUR, `retries span ${span / HOUR} h`);
      assert.ok(d.attempt_log.every((a) => a.status_code === 503));

      const off = await getEndpoint(t.db, ep.id);
      assert.equal(off!.status, 'disabled');
      assert.equal(off!.consecutive_failures, WEBHOOK_RETRY_SCHEDULE_MS.length + 1);
      assert.match(off!.disabled_reason!, /503/);
      assert.equal((await getEndpoint(t.db, healthy.id))!.status, 'enabled');

      const events = await t.db.query<{ type: string; data: any }>(`SELECT type, data FROM events WHERE type = 'webhook_endpoint.disabled'`);
      assert.equal(events.length, 1);
      assert.equal(events[0].data.endpoint_id, ep.id);
      assert.equal(events[0].data.url, rx.url);
      const mails = await listNotifications(t.db, {});
      assert.equal(mails.length, 1);
      assert.equal(mails[0].template, 'webhook_endpoint_disabled');
      assert.equal(mails[0].to, 'ops@example.com');
      assert.equal(mails[0].account_id, null);
      assert.equal(mails[0].subject, `Webhook endpoint disabled: ${rx.url}`);

      // The disabled endpoint gets nothing new; the healthy one gets the disable event itself.
      rx.requests.length = 0;
      await fanOutEvents(t.db, clock.now());
      assert.deepEqual(await deliverer.runOnce(), { succeeded: 1, retrying: 0, failed: 0, disabled: 0 });
      assert.equal(JSON.parse(rx.requests[0].body).type, 'webhook_endpoint.disabled');
      assert.equal((await listDeliveries(t.db, ep.id)).length, 1);

      // Enabled again by the operator: a clean record, and new events flow.
      const on = await updateEndpoint(t.db, ep.id, { status: 'enabled', now: clock.now() });
      assert.equal(on!.consecutive_failures, 0);
      assert.equal(on!.failing_since, null);
      rx.respond = () => 200;
      await insertEvent(t.db, 'invoice.created', clock.now());
      await fanOutEvents(t.db, clock.now());
      assert.equal((await deliverer.runOnce()).succeeded, 2);
    });

    test('network errors and timeouts are recorded without a status code', async () => {
      const clock = manualClock(T0);
      const dead = await createEndpoint(t.db, { url: 'http://127.0.0.1:1/nothing-listens', event_types: ['*'], now: clock.now(), targets: DEV });
      const slow = await createEndpoint(t.db, { url: rx.url.replace('/hooks', '/slow'), event_types: ['*'], now: clock.now(), targets: DEV });
      await insertEvent(t.db, 'invoice.paid', T0);
      await fanOutEvents(t.db, clock.now());
      // The slow receiver never answers: its request ends when the deliverer's timeout aborts it.
      const fetchImpl: typeof fetch = (input, init) => {
        if (String(input).includes('/slow'))
          return new Promise((_, reject) => init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason)));
        return fetch(input, init);
      };
      const deliverer = createWebhookDeliverer({ db: t.db, clock, targets: DEV, fetchImpl, timeoutMs: 200 });
      assert.deepEqual(await deliverer.runOnce(), { succeeded: 0, retrying: 2, failed: 0, disabled: 0 });
      const [d1] = await listDeliveries(t.db, dead.id);
      assert.equal(d1.last_status_code, null);
      assert.match(d1.last_error!, /fetch failed|ECONNREFUSED/);
      const [d2] = await listDeliveries(t.db, slow.id);
      assert.equal(d2.attempt_log[0].status_code, null);
      assert.match(d2.last_error!, /timed out after 200 ms/);
    });
  });
}
