// Helpers of the concurrency matrix: firing calls at once, checking that every answer is one clear,
// documented answer, and summing an account up as a serial run would leave it.
import assert from 'node:assert/strict';
import type { ApiResponse, TestService } from '../helpers/service.ts';

/** Documented statuses per operation ("PUT /v1/accounts/{id}/payment-method"), from /openapi.json. */
export async function documentedStatuses(t: TestService): Promise<Map<string, Set<number>>> {
  const doc = (await t.api('GET', '/openapi.json')).body;
  const out = new Map<string, Set<number>>();
  for (const [path, methods] of Object.entries<Record<string, { responses?: Record<string, unknown> }>>(doc.paths)) {
    for (const [m, op] of Object.entries(methods)) out.set(`${m.toUpperCase()} ${path}`, new Set(Object.keys(op.responses ?? {}).map(Number)));
  }
  return out;
}

/** The operations of the document that change state (everything but GET). */
export function stateChangingOperations(doc: Map<string, Set<number>>): string[] {
  return [...doc.keys()].filter((k) => !k.startsWith('GET ')).sort();
}

export interface Answer extends ApiResponse {
  op: string;
}

/**
 * Checks one answer: never a 5xx, a status the document lists for the operation, and an error is
 * application/problem+json with its type, title and status.
 */
export function assertClearAnswer(doc: Map<string, Set<number>>, a: Answer) {
  const what = `${a.op} → ${a.status} ${JSON.stringify(a.body)?.slice(0, 300)}`;
  assert.ok(a.status < 500, `5xx: ${what}`);
  const statuses = doc.get(a.op);
  assert.ok(statuses, `operation not in /openapi.json: ${a.op}`);
  assert.ok(statuses.has(a.status), `undocumented status: ${what}`);
  if (a.status >= 400) {
    assert.match(a.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
    assert.match(a.body?.type ?? '', /^urn:renewd:problem:/, what);
    assert.equal(a.body.status, a.status, what);
    assert.ok(typeof a.body.title === 'string' && typeof a.body.detail === 'string' && a.body.detail.length > 0, what);
  }
}

/** Tally of answers as "status code" → count, for messages and exact expectations. */
export function tally(answers: { status: number; body: any }[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const a of answers) {
    const k = a.status >= 400 ? `${a.status} ${a.body?.code ?? '?'}` : String(a.status);
    m[k] = (m[k] ?? 0) + 1;
  }
  return m;
}

/**
 * What a serial run is judged by: the subscription (status, plan, auto-renew, a pending cancel or
 * change), the invoices (kind, status, amount), the card on file, the help requests, and the money
 * the gateway moved for the account. Declined attempts are left out: how many a race makes is not
 * part of the outcome (a Retry refused because another attempt was at the gateway is a serial
 * answer too), and renewd verify checks every attempt against the networks' rules.
 */
export async function summary(t: TestService, accountId: string): Promise<string> {
  const sub = (await t.api('GET', `/v1/accounts/${accountId}/subscription`)).body;
  const invoices = (await t.api('GET', `/v1/accounts/${accountId}/invoices`)).body.data as any[];
  const pm = (await t.api('GET', `/v1/accounts/${accountId}/payment-method`)).body;
  const help = (await t.api('GET', `/v1/help-requests?account_id=${accountId}`)).body.data as any[];
  const [a] = await t.svc.ctx.db.query<{ gateway_customer_ref: string }>('SELECT gateway_customer_ref FROM accounts WHERE id = $1', [accountId]);
  const charges = (await t.sandbox('GET', `/_sandbox/charges?customer=${encodeURIComponent(a.gateway_customer_ref)}`)).body.data as any[];
  return JSON.stringify({
    sub: [sub.status, sub.plan_id, sub.auto_renew, sub.cancel_at_period_end ?? false, sub.scheduled_change?.plan_id ?? null],
    invoices: invoices.map((i) => `${i.kind}:${i.status}:${i.amount}`).sort(),
    card: pm ? `${pm.last4}/${pm.exp_month}` : null,
    help: help.length,
    charged: charges.reduce((s, c) => s + c.amount, 0),
  });
}
