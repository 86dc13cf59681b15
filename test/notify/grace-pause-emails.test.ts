// Issue 18 items 3 and 4 in the e-mails, in every language: a reminder or acknowledgement sent while
// a help request waits says the downgrade is paused (until when at the latest); the answer gives the
// time left; the e-mails that name the next attempt say when the customer chose it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LANGUAGES, formatDate, renderEmail, type EmailContext } from '../../src/notify/templates.ts';

const base = (locale: string): EmailContext => ({
  locale,
  time_zone: 'Europe/Paris',
  account_name: 'Acme',
  portal_url: 'https://renewd.example/portal',
  plan_name: 'Pro',
  amount: 2900,
  currency: 'EUR',
  grace_ends_at: new Date('2026-03-21T09:00:00Z'),
  next_retry_at: new Date('2026-03-06T09:00:00Z'),
  reason: 'insufficient_funds',
  days_left: 3,
  invoice_id: 'inv_1',
  help_request_id: 'help_1',
  answer: 'We will wait.',
});

test('paused downgrade, time left after the answer, and the chosen day, in every language', () => {
  for (const lang of LANGUAGES) {
    const c = base(lang);
    const until = formatDate(new Date('2026-03-21T09:00:00Z'), lang, 'Europe/Paris');
    const chosen = formatDate(c.next_retry_at!, lang, 'Europe/Paris');
    const paused = { ...c, downgrade_paused_until: new Date('2026-03-21T09:00:00Z') };
    for (const tpl of ['grace_ending', 'help_request_received'] as const) {
      const m = renderEmail(tpl, paused);
      const plain = renderEmail(tpl, c);
      assert.ok(m.text.split('\n').length > plain.text.split('\n').length, `${lang} ${tpl}: the pause is said`);
      assert.ok(m.text.includes(until), `${lang} ${tpl}: until ${until}`);
      assert.doesNotMatch(m.text, /\{[a-z_]+\}/);
    }
    const answered = renderEmail('help_request_answered', c);
    assert.ok(answered.text.includes(formatDate(c.grace_ends_at!, lang, 'Europe/Paris')), `${lang}: the answer gives the grace end`);
    assert.ok(!renderEmail('help_request_answered', { ...c, grace_ends_at: undefined }).text.includes(until), `${lang}: nothing said when paid`);
    for (const tpl of ['renewal_failed', 'retry_failed', 'grace_ending'] as const) {
      const m = renderEmail(tpl, { ...c, next_retry_why: 'customer_chosen' });
      const scheduled = renderEmail(tpl, { ...c, next_retry_why: 'scheduled_retry' });
      assert.ok(m.text.includes(chosen) && m.text !== scheduled.text, `${lang} ${tpl}: the chosen day is named as chosen`);
    }
  }
});
