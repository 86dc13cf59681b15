// The rules of e-mail links (engine/links.ts), as pure functions: which links an e-mail carries,
// until when they work, where each lands, and the shape of a token.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { LINK_MAX_MS, landingOf, linkExpiry, linksOf, mintLinks, LINK_PURPOSES } from '../../src/engine/links.ts';
import { TEMPLATE_NAMES } from '../../src/core/types.ts';
import { sha256 } from '../../src/lib/crypto.ts';

const NOW = new Date('2026-03-01T09:00:00Z');
const DAY = 86_400_000;
const purposes = (specs: { purpose: string }[]) => specs.map((s) => s.purpose);

describe('which links an e-mail carries', () => {
  test('a failed payment: billing, Retry only when allowed, help; Authenticate when the bank asks', () => {
    assert.deepEqual(purposes(linksOf('renewal_failed', { invoice_id: 'inv_1', retry: true })), ['billing', 'retry', 'help']);
    assert.deepEqual(purposes(linksOf('retry_failed', { invoice_id: 'inv_1', retry: false })), ['billing', 'help']);
    assert.deepEqual(purposes(linksOf('grace_ending', { invoice_id: 'inv_1', retry: true })), ['billing', 'retry', 'help']);
    assert.deepEqual(purposes(linksOf('renewal_failed', { invoice_id: 'inv_1', reason: 'authentication_required' })), ['authenticate', 'billing', 'help']);
    assert.deepEqual(purposes(linksOf('authentication_required', { invoice_id: 'inv_1', retry: true })), ['authenticate', 'billing', 'help']);
    for (const s of linksOf('renewal_failed', { invoice_id: 'inv_1', retry: true })) assert.equal(s.invoice_id, s.purpose === 'billing' ? null : 'inv_1');
  });

  test('every customer e-mail carries at least one link; operator mail none', () => {
    for (const t of TEMPLATE_NAMES) {
      const n = linksOf(t, { invoice_id: 'inv_1' }).length;
      if (t === 'webhook_endpoint_disabled' || t === 'access_link') assert.equal(n, 0, t);
      else assert.ok(n >= 1, t);
    }
  });
});

describe('lifetimes', () => {
  const grace = new Date('2026-03-14T09:00:00Z');
  test('dunning mail: until grace ends + 7 days', () => {
    for (const t of ['renewal_failed', 'retry_failed', 'authentication_required', 'grace_ending'] as const)
      assert.equal(linkExpiry(t, { grace_ends_at: grace }, NOW).getTime(), grace.getTime() + 7 * DAY, t);
  });
  test('receipts: 7 days; an asked-for link: 24 hours; others 30 days or their date + 7 days', () => {
    assert.equal(linkExpiry('renewal_succeeded', { grace_ends_at: grace }, NOW).getTime(), NOW.getTime() + 7 * DAY);
    assert.equal(linkExpiry('retry_succeeded', {}, NOW).getTime(), NOW.getTime() + 7 * DAY);
    assert.equal(linkExpiry('access_link', {}, NOW).getTime(), NOW.getTime() + DAY);
    assert.equal(linkExpiry('downgraded', {}, NOW).getTime(), NOW.getTime() + 30 * DAY);
    assert.equal(linkExpiry('card_expiring', { period_end: new Date('2026-03-31T09:00:00Z') }, NOW).toISOString(), '2026-04-07T09:00:00.000Z');
  });
  test('never past 60 days, never under an hour (a date in the past, a far one)', () => {
    assert.equal(linkExpiry('grace_ending', { grace_ends_at: new Date('2027-01-01T00:00:00Z') }, NOW).getTime(), NOW.getTime() + LINK_MAX_MS);
    assert.equal(linkExpiry('grace_ending', { grace_ends_at: new Date('2026-01-01T00:00:00Z') }, NOW).getTime(), NOW.getTime() + 3_600_000);
  });
});

describe('landings and tokens', () => {
  test('each purpose lands on its section', () => {
    assert.deepEqual(
      LINK_PURPOSES.map((p) => landingOf(p, 'inv_1')),
      ['/portal#billing', '/portal#inv-inv_1', '/portal/invoices/inv_1/authenticate', '/portal#help-inv_1', '/portal#subscription', '/portal#restore', '/portal#history', '/portal/invoices/inv_1/pdf'],
    );
  });
  test('a token per link, 192 random bits, only its hash in the row', () => {
    const r = mintLinks('https://billing.example.com/', 'acct_1', [{ purpose: 'billing', invoice_id: null }, { purpose: 'help', invoice_id: 'inv_1' }], NOW);
    assert.equal(r.rows.length, 2);
    const tokens = Object.values(r.urls).map((u) => /\/portal\/links\/(rl_[A-Za-z0-9_-]{32})$/.exec(u!)![1]);
    assert.notEqual(tokens[0], tokens[1]);
    assert.match(r.urls.billing!, /^https:\/\/billing\.example\.com\/portal\/links\/rl_/);
    assert.deepEqual(r.rows.map((x) => x.token_hash), tokens.map(sha256));
    assert.ok(!JSON.stringify(r.rows).includes(tokens[0]));
  });
});
