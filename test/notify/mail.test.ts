// The e-mail outbox and its SMTP sender, on PGlite and on a PostgreSQL server, through a real SMTP
// server (smtp-server on 127.0.0.1): language and content per decline reason, backoff after SMTP
// refusals, at-least-once with a stable Message-ID after a crash, the transactional outbox.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, ENGINES, type TestDb } from '../helpers/db.ts';
import { enqueueEmail, getNotification, listNotifications, requeueEmail, requeueKeptEmails } from '../../src/notify/outbox.ts';
import { CommandError } from '../../src/core/errors.ts';
import { createMailSender, messageIdFor } from '../../src/notify/sender.ts';
import { CATALOGS, type EmailContext } from '../../src/notify/templates.ts';
import { DECLINE_REASONS } from '../../src/core/types.ts';
import { manualClock, startSmtp, type TestSmtp } from './helpers.ts';

const T0 = '2026-03-01T09:00:00.000Z';
const FROM = 'Acme Billing <billing@acme.example>';
const MIN = 60_000;
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

function ctx(locale: string, extra: Partial<EmailContext> = {}): EmailContext {
  return {
    locale,
    time_zone: 'Europe/Paris',
    account_name: 'Acme',
    portal_url: 'https://billing.example.com/portal',
    plan_name: 'Pro',
    amount: 2900,
    currency: 'EUR',
    grace_ends_at: new Date('2026-03-15T09:00:00Z'),
    reason: 'insufficient_funds',
    invoice_id: 'inv_1',
    ...extra,
  };
}

for (const engine of ENGINES) {
  describe(`outbox and SMTP sender on ${engine}`, () => {
    let t: TestDb;
    let smtp: TestSmtp;
    before(async () => {
      [t, smtp] = await Promise.all([createTestDatabase(engine), startSmtp()]);
      await t.db.query(
        `INSERT INTO accounts (id, name, email, locale, domain_zone, currency, time_zone, created_at)
         VALUES ('acct_fr', 'Acme', 'fr@acme.example', 'fr-FR', 'fr', 'EUR', 'Europe/Paris', $1),
                ('acct_de', 'Beta', 'de@beta.example', 'de-DE', 'de', 'EUR', 'Europe/Berlin', $1)`,
        [T0],
      );
    });
    after(async () => {
      await smtp?.close();
      await t?.drop();
    });
    beforeEach(async () => {
      await t.db.query('DELETE FROM notifications');
      smtp.messages.length = 0;
      smtp.rejectNext = 0;
    });

    const enqueue = (dedupe_key: string, c: EmailContext = ctx('fr-FR'), now = new Date(T0), account_id = 'acct_fr', to = 'fr@acme.example') =>
      enqueueEmail(t.db, { account_id, to, template: 'renewal_failed', ctx: c, dedupe_key, now });

    test('an e-mail enqueued in a transaction that rolls back does not exist; a committed one does, once per dedupe key', async () => {
      await assert.rejects(
        t.db.tx(async (q) => {
          await enqueueEmail(q, { account_id: 'acct_fr', to: 'fr@acme.example', template: 'renewal_failed', ctx: ctx('fr-FR'), dedupe_key: 'rolled-back', now: new Date(T0) });
          throw new Error('the state change failed');
        }),
        /the state change failed/,
      );
      assert.equal((await t.db.query(`SELECT 1 FROM notifications WHERE dedupe_key = 'rolled-back'`)).length, 0);

      const id = await t.db.tx((q) => enqueueEmail(q, { account_id: 'acct_fr', to: 'fr@acme.example', template: 'renewal_failed', ctx: ctx('fr-FR'), dedupe_key: 'committed', now: new Date(T0) }));
      assert.match(id!, /^ntf_/);
      assert.equal(await enqueue('committed'), null, 'same key again: nothing new');
      const rows = await t.db.query<{ status: string; locale: string; next_attempt_at: Date; attempts: number }>(`SELECT * FROM notifications WHERE dedupe_key = 'committed'`);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].status, 'pending');
      assert.equal(rows[0].locale, 'fr-FR');
      assert.equal(rows[0].attempts, 0);
      assert.equal(new Date(rows[0].next_attempt_at).toISOString(), T0);
    });

    test('every decline reason goes out in the account language, with its phrase, French money and dedupe headers', async () => {
      const clock = manualClock(T0);
      for (const reason of DECLINE_REASONS) await enqueue(`renewal_failed:fr:${reason}`, ctx('fr-FR', { reason }));
      await enqueue('renewal_failed:de', ctx('de-DE', { reason: 'card_expired_or_inactive', time_zone: 'Europe/Berlin' }), new Date(T0), 'acct_de', 'de@beta.example');
      const sender = createMailSender({ db: t.db, clock, smtpUrl: smtp.url, from: FROM });
      const r = await sender.runOnce();
      assert.deepEqual(r, { sent: DECLINE_REASONS.length + 1, failed: 0, retrying: 0 });
      assert.equal(smtp.messages.length, DECLINE_REASONS.length + 1);

      for (const reason of DECLINE_REASONS) {
        const key = `renewal_failed:fr:${reason}`;
        const m = smtp.messages.find((x) => x.headers['x-renewd-dedupe-key'] === key);
        assert.ok(m, `no message for ${reason}`);
        assert.deepEqual(m.to, ['fr@acme.example']);
        // A technical failure (bank or payment system unreachable) is not the card's: no "Action requise".
        const technical = reason === 'issuer_unavailable' || reason === 'payment_system_failure';
        assert.equal(m.subject, technical ? "Nous n'avons pas pu joindre votre banque pour le paiement de votre abonnement Pro" : 'Action requise : le paiement de votre abonnement Pro a échoué');
        assert.equal(m.headers['content-language'], 'fr-FR');
        assert.equal(m.headers['auto-submitted'], 'auto-generated', 'machine mail: auto-responders stay quiet (RFC 3834)');
        assert.equal(m.headers['message-id'], messageIdFor(key, FROM));
        assert.match(m.headers['message-id'], /@acme\.example>$/);
        assert.ok(m.text.includes(CATALOGS.fr[`because.${reason}`]), `${reason}: French phrase missing in\n${m.text}`);
        assert.ok(plain(m.text).includes('29,00 €'), 'French-formatted amount');
        assert.ok(m.text.includes('15 mars 2026'));
        assert.ok(m.text.includes('Informations de facturation (lien ci-dessous)'));
        assert.ok(m.html.includes('<html lang="fr-FR"'));
      }
      assert.ok(
        smtp.messages
          .find((x) => x.headers['x-renewd-dedupe-key'] === `renewal_failed:fr:insufficient_funds`)!
          .text.includes('Motif : le solde du compte était insuffisant.'),
      );
      const de = smtp.messages.find((x) => x.headers['x-renewd-dedupe-key'] === 'renewal_failed:de')!;
      assert.equal(de.subject, 'Handlungsbedarf: Die Zahlung für Ihr Abonnement Pro ist fehlgeschlagen');
      assert.ok(de.text.includes('Das lag daran, dass Ihre Karte abgelaufen oder nicht aktiv ist.'));
      assert.ok(plain(de.text).includes('29,00 €'));
      assert.ok(de.text.includes('15. März 2026'));

      const rows = await listNotifications(t.db, {});
      assert.ok(rows.every((n) => n.status === 'sent' && n.sent_at?.toISOString() === T0 && n.attempts === 1));
      assert.deepEqual(await sender.runOnce(), { sent: 0, failed: 0, retrying: 0 }, 'nothing is sent twice');
      assert.equal(smtp.messages.length, DECLINE_REASONS.length + 1);
    });

    test('SMTP refusals: exponential backoff driven by the clock, then delivered once', async () => {
      const clock = manualClock(T0);
      await enqueue('backoff');
      smtp.rejectNext = 3;
      const sender = createMailSender({ db: t.db, clock, smtpUrl: smtp.url, from: FROM });
      const row = async () => (await t.db.query<{ status: string; attempts: number; next_attempt_at: Date; last_error: string }>(`SELECT * FROM notifications WHERE dedupe_key = 'backoff'`))[0];

      const expected = [1, 2, 4]; // minutes after attempts 1, 2, 3
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(await sender.runOnce(), { sent: 0, failed: 0, retrying: 1 });
        const r = await row();
        assert.equal(r.status, 'pending');
        assert.equal(r.attempts, i + 1);
        assert.match(r.last_error, /451/);
        assert.equal(new Date(r.next_attempt_at).getTime(), clock.now().getTime() + expected[i] * MIN);
        // Not due yet: nothing is claimed.
        clock.advance(expected[i] * MIN - 1000);
        assert.deepEqual(await sender.runOnce(), { sent: 0, failed: 0, retrying: 0 });
        clock.advance(1000);
      }
      assert.deepEqual(await sender.runOnce(), { sent: 1, failed: 0, retrying: 0 });
      const r = await row();
      assert.equal(r.status, 'sent');
      assert.equal(r.attempts, 4);
      assert.equal(r.last_error, null);
      assert.equal(smtp.messages.length, 1);
    });

    test('after maxAttempts refusals the e-mail is marked failed and left alone', async () => {
      const clock = manualClock(T0);
      await enqueue('hopeless');
      smtp.rejectNext = 100;
      const sender = createMailSender({ db: t.db, clock, smtpUrl: smtp.url, from: FROM, maxAttempts: 3 });
      const results = [];
      for (let i = 0; i < 3; i++) {
        results.push(await sender.runOnce());
        clock.advance(24 * 60 * MIN);
      }
      assert.deepEqual(results.map((r) => [r.retrying, r.failed]), [[1, 0], [1, 0], [0, 1]]);
      const [n] = await listNotifications(t.db, {});
      assert.equal(n.status, 'failed');
      assert.equal(n.attempts, 3);
      assert.match(n.last_error!, /451/);
      assert.deepEqual(await sender.runOnce(), { sent: 0, failed: 0, retrying: 0 });
      assert.equal(smtp.messages.length, 0);
    });

    test('crash between send and mark: re-sent once after the lease with the same Message-ID; a sent e-mail never again', async () => {
      const clock = manualClock(T0);
      await enqueue('crash');
      await enqueue('done');
      const sender = createMailSender({ db: t.db, clock, smtpUrl: smtp.url, from: FROM, leaseMs: 5 * MIN });
      assert.equal((await sender.runOnce()).sent, 2);
      assert.equal(smtp.messages.length, 2);
      // Simulate the crash: the first copy went out, but the process died before marking it sent,
      // so the row is still 'sending' under the lease taken when it was claimed.
      await t.db.query(`UPDATE notifications SET status = 'sending', sent_at = NULL, next_attempt_at = $1 WHERE dedupe_key = 'crash'`, [new Date(clock.now().getTime() + 5 * MIN)]);

      clock.advance(4 * MIN);
      assert.equal((await sender.runOnce()).sent, 0, 'the lease still holds: not claimed');
      clock.advance(MIN);
      assert.deepEqual(await sender.runOnce(), { sent: 1, failed: 0, retrying: 0 });
      const copies = smtp.messages.filter((m) => m.headers['x-renewd-dedupe-key'] === 'crash');
      assert.equal(copies.length, 2, 'at least once: the receiver sees the same e-mail twice');
      assert.equal(copies[0].headers['message-id'], copies[1].headers['message-id']);
      assert.equal(copies[0].subject, copies[1].subject);
      assert.equal(copies[0].text, copies[1].text);
      assert.equal(smtp.messages.filter((m) => m.headers['x-renewd-dedupe-key'] === 'done').length, 1);

      clock.advance(30 * 24 * 60 * MIN);
      assert.deepEqual(await sender.runOnce(), { sent: 0, failed: 0, retrying: 0 });
      assert.equal(smtp.messages.length, 3);
      const crash = (await listNotifications(t.db, {})).find((n) => n.dedupe_key === 'crash')!;
      assert.equal(crash.status, 'sent');
      assert.equal(crash.attempts, 2);
    });

    test('two senders at once send each e-mail exactly once (SKIP LOCKED)', async () => {
      const clock = manualClock(T0);
      for (let i = 0; i < 24; i++) await enqueue(`parallel:${i}`);
      const a = createMailSender({ db: t.db, clock, smtpUrl: smtp.url, from: FROM, batchSize: 5 });
      const b = createMailSender({ db: t.db, clock, smtpUrl: smtp.url, from: FROM, batchSize: 5 });
      const drain = async (s: typeof a) => {
        let n = 0;
        for (;;) {
          const r = await s.runOnce();
          if (r.sent === 0) return n;
          n += r.sent;
        }
      };
      const [na, nb] = await Promise.all([drain(a), drain(b)]);
      assert.equal(na + nb, 24);
      const keys = smtp.messages.map((m) => m.headers['x-renewd-dedupe-key']);
      assert.equal(keys.length, 24);
      assert.equal(new Set(keys).size, 24);
    });

    test('a sender without an SMTP URL leaves the outbox untouched; the next one with SMTP sends it all', async () => {
      const clock = manualClock(T0);
      await enqueue('keep-1');
      await enqueue('keep-2');
      const state = () => t.db.query<{ status: string; attempts: number; next_attempt_at: Date | null }>('SELECT status, attempts, next_attempt_at FROM notifications ORDER BY id');
      const before = await state();
      const idle = createMailSender({ db: t.db, clock, from: FROM });
      clock.advance(60 * MIN);
      assert.deepEqual(await idle.runOnce(), { sent: 0, failed: 0, retrying: 0 });
      assert.deepEqual(await state(), before, 'a process that cannot deliver changed the delivery state');
      assert.deepEqual(before.map((r) => r.status), ['pending', 'pending']);
      assert.equal(smtp.messages.length, 0);
      const rows = await listNotifications(t.db, {});
      const full = await getNotification(t.db, rows[0].id);
      assert.match(full!.body_text, /Motif/);
      assert.match(full!.body_html, /<html lang="fr-FR"/);
      const sender = createMailSender({ db: t.db, clock, from: FROM, smtpUrl: smtp.url });
      assert.deepEqual(await sender.runOnce(), { sent: 2, failed: 0, retrying: 0 });
    });

    test('kept and failed e-mails are re-queued by the operator and then sent; a sent one is refused', async () => {
      const clock = manualClock(T0);
      const [a, b, c] = [await enqueue('rq-1'), await enqueue('rq-2'), await enqueue('rq-3')];
      // 'kept' as an earlier version without SMTP left them; one failed for good.
      await t.db.query(`UPDATE notifications SET status = 'kept', next_attempt_at = NULL WHERE id = ANY($1)`, [[a, b]]);
      await t.db.query(`UPDATE notifications SET status = 'failed', attempts = 12, next_attempt_at = NULL, last_error = '550 no' WHERE id = $1`, [c]);
      const sender = createMailSender({ db: t.db, clock, from: FROM, smtpUrl: smtp.url });
      assert.deepEqual(await sender.runOnce(), { sent: 0, failed: 0, retrying: 0 }, 'kept and failed are not sent by themselves');
      const n = await requeueEmail(t.db, a!, clock.now());
      assert.deepEqual([n.status, n.attempts, n.last_error], ['pending', 0, null]);
      assert.equal((await requeueEmail(t.db, c!, clock.now())).status, 'pending');
      assert.equal(await requeueKeptEmails(t.db, clock.now()), 1);
      assert.deepEqual(await sender.runOnce(), { sent: 3, failed: 0, retrying: 0 });
      const refused = await requeueEmail(t.db, a!, clock.now()).catch((e: unknown) => e);
      assert.ok(refused instanceof CommandError && refused.kind === 'conflict' && refused.code === 'not_requeueable', String(refused));
      const missing = await requeueEmail(t.db, 'ntf_missing', clock.now()).catch((e: unknown) => e);
      assert.ok(missing instanceof CommandError && missing.kind === 'not_found', String(missing));
      assert.equal((await getNotification(t.db, a!))!.status, 'sent');
    });

    test('listNotifications: newest first, by account, paginated with before', async () => {
      for (let i = 0; i < 5; i++) await enqueue(`list:fr:${i}`, ctx('fr-FR'), new Date(Date.parse(T0) + i * MIN));
      await enqueue('list:de', ctx('de-DE'), new Date(Date.parse(T0) + 10 * MIN), 'acct_de', 'de@beta.example');
      const all = await listNotifications(t.db, {});
      assert.deepEqual(all.map((n) => n.dedupe_key), ['list:de', 'list:fr:4', 'list:fr:3', 'list:fr:2', 'list:fr:1', 'list:fr:0']);
      const de = await listNotifications(t.db, { account_id: 'acct_de' });
      assert.equal(de.length, 1);
      assert.equal(de[0].to, 'de@beta.example');
      assert.equal(de[0].locale, 'de-DE');
      assert.equal(de[0].template, 'renewal_failed');
      assert.match(de[0].subject, /Handlungsbedarf/);
      const page1 = await listNotifications(t.db, { account_id: 'acct_fr', limit: 2 });
      const page2 = await listNotifications(t.db, { account_id: 'acct_fr', limit: 2, before: page1[1].id });
      assert.deepEqual([...page1, ...page2].map((n) => n.dedupe_key), ['list:fr:4', 'list:fr:3', 'list:fr:2', 'list:fr:1']);
      assert.deepEqual(Object.keys(de[0]).sort(), ['account_id', 'attempts', 'created_at', 'dedupe_key', 'id', 'last_error', 'locale', 'sent_at', 'status', 'subject', 'template', 'to']);
    });
  });
}
