// Small helpers of the self-service API tests (portal tokens, past-due accounts, e-mails, money).
import assert from 'node:assert/strict';
import { subscribedAccount, type TestService } from '../helpers/service.ts';

/** A portal-session token for the account (created with the admin key). */
export async function portalToken(t: TestService, accountId: string, ttl_minutes?: number): Promise<string> {
  const r = await t.api('POST', `/v1/accounts/${accountId}/portal-sessions`, ttl_minutes === undefined ? {} : { ttl_minutes });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.token;
}

/**
 * An account whose renewal fails with `card` (default insufficient funds). The caller then
 * advances the clock (t.advance(31)) to make its invoice past due.
 */
export async function accountFailingLater(t: TestService, card: string, a: { domain_zone?: string; locale?: string } = {}) {
  return subscribedAccount(t, { later: card, ...a });
}

/** The newest invoice of the account (the purchase history is newest first). */
export async function latestInvoice(t: TestService, accountId: string) {
  const r = await t.api('GET', `/v1/accounts/${accountId}/invoices`);
  assert.equal(r.status, 200);
  return r.body.data[0] as { id: string; status: string; amount: number; attempts: any[]; retry: { available: boolean; reason: string | null } };
}

/** The account's e-mails (outbox), oldest first, through GET /v1/notifications. */
export async function emails(t: TestService, accountId: string): Promise<{ template: string; to: string; created_at: string }[]> {
  const r = await t.api('GET', `/v1/notifications?account_id=${accountId}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return [...r.body.data].sort((a: any, b: any) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
}

export async function templates(t: TestService, accountId: string): Promise<string[]> {
  return (await emails(t, accountId)).map((m) => m.template);
}

/** Money that actually moved at the sandbox PSP for this account (succeeded charges). */
export async function charges(t: TestService, accountId: string): Promise<{ amount: number; currency: string; metadata: Record<string, string> }[]> {
  const [a] = await t.svc.ctx.db.query<{ gateway_customer_ref: string }>('SELECT gateway_customer_ref FROM accounts WHERE id = $1', [accountId]);
  const r = await t.sandbox('GET', `/_sandbox/charges?customer=${encodeURIComponent(a.gateway_customer_ref)}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.data;
}

/** Scripts the sandbox so the account's next `times` charges get `outcome` ('succeed' or a decline code). */
export async function scriptNextCharges(t: TestService, accountId: string, outcome: string, times = 1) {
  const r = await t.sandbox('POST', '/_sandbox/scripts', { target: { account_id: accountId }, steps: [{ outcome, times }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

export function problemOf(r: { status: number; body: any; headers: Headers }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(r.body.type, `urn:renewd:problem:${code}`, JSON.stringify(r.body));
}
