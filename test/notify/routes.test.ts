// The HTTP side of notifications, end to end in one process: webhook endpoints and the outbox over
// the API (schemas, problem+json, admin only), and a renewal that fails on the test clock, which
// reaches a real SMTP server in French and a real webhook receiver, signed.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, createPlans, subscribedAccount, CARDS, type TestService } from '../helpers/service.ts';
import { verifySignature } from '../../src/notify/signing.ts';
import { startReceiver, startSmtp, type TestReceiver, type TestSmtp } from './helpers.ts';

const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

function problemOf(r: { status: number; body: any; headers: Headers }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(r.body.type, `urn:renewd:problem:${code}`, JSON.stringify(r.body));
}

describe('notifications and webhooks over HTTP', () => {
  let t: TestService;
  let smtp: TestSmtp;
  let rx: TestReceiver;

  before(async () => {
    [smtp, rx] = await Promise.all([startSmtp(), startReceiver()]);
    t = await startTestService({ config: { smtpUrl: smtp.url, operatorEmail: 'ops@example.com', mailFrom: 'Billing <billing@renewd.example>' } });
    await createPlans(t);
  });
  after(async () => {
    await t?.close();
    await rx?.close();
    await smtp?.close();
  });

  test('webhook endpoints: create (secret once), list, get, patch, deliveries, delete; errors are problems', async () => {
    problemOf(await t.api('GET', '/v1/webhook-endpoints', undefined, null), 401, 'unauthorized');
    const c = await t.api('POST', '/v1/webhook-endpoints', { url: 'https://example.com/hooks', event_types: ['invoice.*'], description: 'ERP' });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    assert.match(c.body.id, /^we_/);
    assert.match(c.body.secret, /^whsec_/);
    assert.equal(c.body.status, 'enabled');
    assert.deepEqual(c.body.event_types, ['invoice.*']);
    const id = c.body.id;

    const list = await t.api('GET', '/v1/webhook-endpoints');
    assert.equal(list.status, 200);
    assert.ok(list.body.data.some((e: any) => e.id === id));
    assert.ok(list.body.data.every((e: any) => !('secret' in e)));
    const one = await t.api('GET', `/v1/webhook-endpoints/${id}`);
    assert.equal(one.body.description, 'ERP');
    assert.equal('secret' in one.body, false);

    const p = await t.api('PATCH', `/v1/webhook-endpoints/${id}`, { status: 'disabled', event_types: ['*'] });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.equal(p.body.status, 'disabled');
    assert.deepEqual(p.body.event_types, ['*']);
    const d = await t.api('GET', `/v1/webhook-endpoints/${id}/deliveries?limit=10`);
    assert.equal(d.status, 200);
    assert.deepEqual(d.body.data, []);

    const ftp = await t.api('POST', '/v1/webhook-endpoints', { url: 'ftp://example.com/x', event_types: ['*'] });
    problemOf(ftp, 400, 'validation_error');
    // The endpoint rules' refusal: the same detail as ever, and the field it is about.
    assert.equal(ftp.body.detail, 'url: only http and https URLs can receive webhooks');
    assert.deepEqual(ftp.body.errors, [{ field: 'url', message: 'only http and https URLs can receive webhooks' }]);
    problemOf(await t.api('POST', '/v1/webhook-endpoints', { url: 'not a url', event_types: ['*'] }), 400, 'validation_error');
    problemOf(await t.api('POST', '/v1/webhook-endpoints', { url: 'https://example.com', event_types: [] }), 400, 'validation_error');
    problemOf(await t.api('POST', '/v1/webhook-endpoints', { url: 'https://example.com', event_types: ['*'], secret: 'mine' }), 400, 'validation_error');
    problemOf(await t.api('PATCH', `/v1/webhook-endpoints/${id}`, {}), 400, 'validation_error');
    problemOf(await t.api('PATCH', `/v1/webhook-endpoints/${id}`, { status: 'paused' }), 400, 'validation_error');
    problemOf(await t.api('GET', '/v1/webhook-endpoints/we_nope'), 404, 'not_found');
    problemOf(await t.api('GET', '/v1/webhook-endpoints/we_nope/deliveries'), 404, 'not_found');
    problemOf(await t.api('PATCH', '/v1/webhook-endpoints/we_nope', { status: 'enabled' }), 404, 'not_found');

    assert.equal((await t.api('DELETE', `/v1/webhook-endpoints/${id}`)).status, 204);
    problemOf(await t.api('DELETE', `/v1/webhook-endpoints/${id}`), 404, 'not_found');
  });

  test('a failed renewal on the test clock: French e-mail over SMTP, signed webhooks, both visible in the API', async () => {
    const ep = await t.api('POST', '/v1/webhook-endpoints', { url: rx.url, event_types: ['invoice.*', 'subscription.past_due', 'payment_attempt.failed'] });
    assert.equal(ep.status, 201);
    const secret: string = ep.body.secret;
    const id = await subscribedAccount(t, { later: CARDS.insufficient_funds, locale: 'fr-FR' });
    await t.advance(31);

    // E-mails: in the outbox, and delivered over SMTP in French.
    const n = await t.api('GET', `/v1/notifications?account_id=${id}&limit=50`);
    assert.equal(n.status, 200, JSON.stringify(n.body));
    const failed = n.body.data.find((m: any) => m.template === 'renewal_failed');
    assert.ok(failed, JSON.stringify(n.body.data));
    assert.equal(failed.to, 'billing@acme.example');
    assert.equal(failed.locale, 'fr-FR');
    assert.equal(failed.status, 'sent');
    assert.equal(failed.subject, 'Action requise : le paiement de votre abonnement Pro a échoué');
    for (const k of ['id', 'template', 'to', 'subject', 'locale', 'status', 'created_at', 'sent_at']) assert.ok(k in failed, k);
    const mail = smtp.messages.find((m) => m.subject === failed.subject);
    assert.ok(mail, smtp.messages.map((m) => m.subject).join(' | '));
    assert.ok(mail.text.includes('Motif : le solde du compte était insuffisant.'), mail.text);
    assert.ok(plain(mail.text).includes('29,00 €'));
    assert.ok(mail.text.includes('Informations de facturation (lien ci-dessous)'));
    // Each way out is its own no-login link (issue #14), never the bare pages' address.
    assert.match(mail.text, /Mettre à jour ma carte : http:\/\/[^\s]+\/portal\/links\/rl_[A-Za-z0-9_-]{32}\n/);
    assert.match(mail.text, /Demander de l'aide : http:\/\/[^\s]+\/portal\/links\/rl_[A-Za-z0-9_-]{32}\n/);
    assert.match(mail.headers['x-renewd-dedupe-key'], /^renewal_failed:inv_/);
    assert.match(mail.headers['message-id'], /@renewd\.example>$/);
    const detail = await t.api('GET', `/v1/notifications/${failed.id}`);
    assert.equal(detail.status, 200);
    assert.match(detail.body.body_html, /<html lang="fr-FR"/);

    // Webhooks: every delivery signed with the endpoint secret, and listed with its attempts.
    const types = rx.requests.map((r) => JSON.parse(r.body).type);
    assert.ok(types.includes('subscription.past_due'), types.join(', '));
    assert.ok(types.includes('payment_attempt.failed'), types.join(', '));
    for (const r of rx.requests) {
      const header = r.headers['renewd-signature'] as string;
      const signedAt = Number(/t=(\d+)/.exec(header)![1]) * 1000;
      assert.ok(verifySignature(secret, header, r.body, signedAt), 'signature verifies');
      assert.equal(verifySignature(secret, header, r.body + ' ', signedAt), false);
      assert.equal(r.headers['renewd-event-id'], JSON.parse(r.body).id);
    }
    const pastDue = JSON.parse(rx.requests.find((r) => JSON.parse(r.body).type === 'subscription.past_due')!.body);
    assert.equal(pastDue.data.account_id, id);
    const deliveries = await t.api('GET', `/v1/webhook-endpoints/${ep.body.id}/deliveries?payload=true`);
    assert.equal(deliveries.status, 200);
    assert.equal(deliveries.body.data.length, rx.requests.length);
    assert.ok(deliveries.body.data.every((d: any) => d.status === 'succeeded' && d.attempt_log.length === 1 && d.attempt_log[0].status_code === 200));
    assert.ok(deliveries.body.data.every((d: any) => d.payload.id === d.event_id));
  });

  test('the outbox answers a portal token for its own account only', async () => {
    const a = await subscribedAccount(t, { locale: 'de-DE' });
    const b = await subscribedAccount(t, { locale: 'es-ES' });
    const s = await t.api('POST', `/v1/accounts/${a}/portal-sessions`, {});
    assert.equal(s.status, 201);
    const own = await t.api('GET', '/v1/notifications', undefined, s.body.token);
    assert.equal(own.status, 200);
    assert.ok(own.body.data.length > 0);
    const allMine = await t.api('GET', `/v1/notifications?account_id=${a}`);
    assert.deepEqual(own.body.data.map((m: any) => m.id), allMine.body.data.map((m: any) => m.id));
    problemOf(await t.api('GET', `/v1/notifications?account_id=${b}`, undefined, s.body.token), 404, 'not_found');
    problemOf(await t.api('GET', `/v1/notifications/${own.body.data[0].id}`, undefined, s.body.token), 403, 'forbidden');
    problemOf(await t.api('GET', '/v1/notifications?limit=0'), 400, 'validation_error');
    problemOf(await t.api('GET', '/v1/notifications?colour=red'), 400, 'validation_error');
  });
});
