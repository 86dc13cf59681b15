// Shared by the security tests: a small world with two customers (A in grace, B active), their
// portal tokens and resources; the API's operations read from GET /openapi.json; and a snapshot of
// the business tables, to prove that a refused request changed nothing.
import { startTestService, createPlans, subscribedAccount, card, CARDS, ADMIN_KEY, type TestService, type TestServiceOptions } from '../helpers/service.ts';
import type { Queryable } from '../../src/store/db.ts';

export interface Operation {
  method: string;
  /** OpenAPI path, e.g. /v1/accounts/{id}/invoices */
  path: string;
  op: any;
  /** Callable with the admin key only (no portalToken in its security). */
  adminOnly: boolean;
  /** Callable with a portal token. */
  customer: boolean;
  /** Authenticated by the gateway's signature of the body, not by a key (POST /v1/gateway-events). */
  signed: boolean;
  body: any | undefined;
  bodySchema: any | undefined;
  query: any[];
}

export async function operations(t: TestService): Promise<Operation[]> {
  const doc = (await t.api('GET', '/openapi.json', undefined, null)).body;
  const out: Operation[] = [];
  for (const [path, methods] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const sec: Record<string, unknown>[] = op.security ?? doc.security ?? [];
      const schemes = sec.flatMap((s) => Object.keys(s));
      const bodySchema = op.requestBody?.content?.['application/json']?.schema;
      out.push({
        method: method.toUpperCase(),
        path,
        op,
        adminOnly: schemes.includes('adminKey') && !schemes.includes('portalToken'),
        customer: schemes.includes('portalToken'),
        signed: schemes.includes('gatewaySignature'),
        bodySchema,
        body: bodySchema ? structuredClone(bodySchema.example ?? op.requestBody.content['application/json'].example ?? {}) : undefined,
        query: (op.parameters ?? []).filter((p: any) => p.in === 'query'),
      });
    }
  }
  return out;
}

export interface World {
  t: TestService;
  admin: string;
  a: Customer;
  b: Customer;
  webhookId: string;
  /** A credit note of a third account C (canceled in grace): another account's for both A and B. */
  creditNote: string;
  /** A token of A that has expired, and one that was revoked. */
  expiredToken: string;
  revokedToken: string;
  close(): Promise<void>;
}

export interface Customer {
  account: string;
  token: string;
  session: string;
  invoice: string;
  /** A past-due invoice (A only). */
  pastDue: string | null;
  help: string;
  notification: string;
}

async function ok<T = any>(p: Promise<{ status: number; body: T }>, what: string, ...expected: number[]): Promise<T> {
  const r = await p;
  if (!(expected.length ? expected : [200, 201]).includes(r.status)) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A (in grace after an insufficient-funds decline) and B (renewed), with tokens and resources. */
export async function world(opts: TestServiceOptions = {}): Promise<World> {
  // These tests send hundreds of wrong keys and tokens on purpose, each answered 401; the throttle
  // that would answer them 429 after 20 a minute is tested on its own (admin-keys.test.ts). The
  // gateway-events endpoint verifies with the secret given here (the sandbox's own events stay off).
  const t = await startTestService({ engine: 'pglite', ...opts, config: { authFailuresPerMinute: 1_000_000, stripeWebhookSecret: 'whsec_security_tests_only', ...opts.config } });
  await createPlans(t);
  const expiring: string[] = [];
  const a = await subscribedAccount(t, { later: CARDS.insufficient_funds });
  const b = await subscribedAccount(t, { locale: 'en-US', domain_zone: 'com', currency: 'USD', time_zone: 'America/New_York' });
  const c = await subscribedAccount(t, { later: CARDS.insufficient_funds });
  // A backup card each (issue 18), so its GET has something to show its rightful callers: A's is one
  // the bank refuses at charge time (A stays past due whether or not it is tried), B's a good one.
  await ok(t.api('PUT', `/v1/accounts/${a}/backup-payment-method`, { ...card(CARDS.attach_then_fail), consent: true }), 'backup A');
  await ok(t.api('PUT', `/v1/accounts/${b}/backup-payment-method`, { ...card(CARDS.ok), consent: true }), 'backup B');
  // A token that expires: 5 minutes, then the clock moves past it.
  const exp = await ok(t.api('POST', `/v1/accounts/${a}/portal-sessions`, { ttl_minutes: 5 }), 'expiring session');
  expiring.push(exp.token);
  await t.advance(32); // A's renewal is declined (grace), B's is paid
  // C cancels in grace: its past-due (issued) invoice is voided by a credit note (issue 23).
  await ok(t.api('POST', `/v1/accounts/${c}/subscription/cancel`, { at: 'now' }), 'cancel C');
  const cInvoices = (await ok(t.api('GET', `/v1/accounts/${c}/invoices`), 'invoices of C')).data as any[];
  const creditNote = cInvoices.flatMap((i) => i.credit_notes)[0]?.id as string | undefined;
  if (!creditNote) throw new Error('world: C should have a credit note');
  const revoked = await ok(t.api('POST', `/v1/accounts/${a}/portal-sessions`, {}), 'revoked session');
  await ok(t.api('DELETE', `/v1/portal-sessions/${revoked.id}`), 'revoke');
  const customer = async (account: string): Promise<Customer> => {
    const s = await ok(t.api('POST', `/v1/accounts/${account}/portal-sessions`, { ttl_minutes: 1440 }), 'session');
    const inv = (await ok(t.api('GET', `/v1/accounts/${account}/invoices`), 'invoices')).data as any[];
    const help = await ok(t.api('POST', `/v1/invoices/${inv[0].id}/help-requests`, { message: 'Why?' }), 'help');
    const [n] = await t.svc.ctx.db.query<{ id: string }>('SELECT id FROM notifications WHERE account_id = $1 ORDER BY created_at LIMIT 1', [account]);
    return { account, token: s.token, session: s.id, invoice: inv[0].id, pastDue: inv.find((i) => i.status === 'past_due')?.id ?? null, help: help.id, notification: n.id };
  };
  const A = await customer(a);
  const B = await customer(b);
  if (!A.pastDue) throw new Error('world: A should have a past-due invoice');
  const wh = await ok(t.api('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', event_types: ['invoice.paid'] }), 'webhook endpoint');
  await ok(t.api('PUT', '/v1/dunning-policy/overrides/zone:fr', { grace_days: 14 }), 'override');
  return { t, admin: ADMIN_KEY, a: A, b: B, webhookId: wh.id, creditNote, expiredToken: expiring[0], revokedToken: revoked.token, close: () => t.close() };
}

/** The concrete URL of an operation, with path parameters naming `who`'s resources. */
export function urlFor(w: World, op: Operation, who: Customer, query = ''): string {
  const id = (() => {
    const p = op.path;
    if (p.startsWith('/v1/accounts/{id}')) return who.account;
    if (p.startsWith('/v1/invoices/{id}')) return who.pastDue ?? who.invoice;
    if (p.startsWith('/v1/portal-sessions/{id}')) return who.session;
    if (p.startsWith('/v1/help-requests/{id}')) return who.help;
    if (p.startsWith('/v1/notifications/{id}')) return who.notification;
    if (p.startsWith('/v1/webhook-endpoints/{id}')) return w.webhookId;
    if (p.startsWith('/v1/credit-notes/{id}')) return w.creditNote;
    return 'x';
  })();
  const url = op.path.replace('{id}', encodeURIComponent(id)).replace('{scope}', 'zone:fr');
  return url + query;
}

/** Tables whose rows are the business state (rate counters and the replay cache are bookkeeping). */
export const STATE_TABLES = [
  'accounts',
  'payment_methods',
  'subscriptions',
  'invoices',
  'payment_attempts',
  'plans',
  'plan_prices',
  'events',
  'notifications',
  'help_requests',
  'portal_sessions',
  'dunning_policies',
  'webhook_endpoints',
  'webhook_deliveries',
  'admin_keys',
  'settings',
  'credit_notes',
  'document_series',
];

/** Rows that are bookkeeping, not state: the installation's secret for hashing idempotency keys (made on first use). */
const IGNORE: Record<string, string> = { settings: `WHERE x.key <> 'idempotency_hash_secret'` };
/** Bookkeeping that is not state: when an admin key was last used changes with every authenticated call. */
const SOURCE: Record<string, string> = { admin_keys: '(SELECT id, key_hash, name, source, last4, created_at, revoked_at FROM admin_keys)' };

/** Row count and a hash of every state table. */
export async function snapshot(db: Queryable): Promise<Record<string, string>> {
  const sql = STATE_TABLES.map(
    (t) => `SELECT '${t}' AS t, count(*)::text || ':' || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${SOURCE[t] ?? t} x ${IGNORE[t] ?? ''}`,
  ).join(' UNION ALL ');
  const rows = await db.query<{ t: string; h: string }>(sql);
  return Object.fromEntries(rows.map((r) => [r.t, r.h]));
}

export function diff(a: Record<string, string>, b: Record<string, string>): string[] {
  return Object.keys(a).filter((k) => a[k] !== b[k]);
}
