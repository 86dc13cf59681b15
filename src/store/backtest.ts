// What the policy backtest reads (read only): the renewals that failed since a date with their
// attempts, the e-mails the outbox holds for each, and every attempt on their cards (for the caps).
import type { RecordedRenewal } from '../core/backtest.ts';
import type { AttemptOutcome } from '../core/types.ts';
import { DAY } from '../core/time.ts';
import type { Queryable } from './db.ts';

type Row = Record<string, any>;
const date = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));

export interface FailedRenewal extends RecordedRenewal {
  plan_id: string;
  domain_zone: string;
}

/** Renewal invoices that failed at or after `since` (oldest first), with their attempts and e-mails. */
export async function failedRenewalsSince(q: Queryable, since: Date): Promise<FailedRenewal[]> {
  const invoices = await q.query<Row>(
    `SELECT i.id, i.amount, i.currency, i.period_start, i.failed_at, i.status, i.plan_id, a.domain_zone, a.time_zone
       FROM invoices i JOIN accounts a ON a.id = i.account_id
      WHERE i.kind = 'renewal' AND i.failed_at IS NOT NULL AND i.failed_at >= $1
      ORDER BY i.failed_at, i.id`,
    [since],
  );
  if (!invoices.length) return [];
  const ids = invoices.map((r) => r.id as string);
  const attempts = await q.query<Row>(
    `SELECT invoice_id, created_at, trigger, outcome, reason, retry_class, payment_method_id, not_before
       FROM payment_attempts WHERE invoice_id = ANY($1::text[])
      ORDER BY invoice_id, number`,
    [ids],
  );
  // The machine keys each invoice's e-mails by it: `<template>:<invoice>` (failure, receipt,
  // downgrade), `grace_ending:<invoice>:<days>`, or `<template>:<attempt>` (a retry's answer).
  const emails = await q.query<Row>(
    `SELECT i.id AS invoice_id, n.template, n.created_at
       FROM invoices i
       JOIN notifications n ON n.account_id = i.account_id
      WHERE i.id = ANY($1::text[])
        AND (n.dedupe_key = n.template || ':' || i.id
             OR left(n.dedupe_key, length(n.template) + length(i.id) + 2) = n.template || ':' || i.id || ':'
             OR EXISTS (SELECT 1 FROM payment_attempts pa WHERE pa.invoice_id = i.id AND n.dedupe_key = n.template || ':' || pa.id))
      ORDER BY n.created_at, n.id`,
    [ids],
  );
  const byInvoice = new Map<string, FailedRenewal>();
  const out = invoices.map((r) => {
    const x: FailedRenewal = {
      invoice_id: r.id,
      amount: Number(r.amount),
      currency: r.currency,
      period_start: date(r.period_start),
      failed_at: date(r.failed_at),
      time_zone: r.time_zone,
      status: r.status,
      plan_id: r.plan_id,
      domain_zone: r.domain_zone,
      attempts: [],
      emails: [],
    };
    byInvoice.set(x.invoice_id, x);
    return x;
  });
  for (const a of attempts)
    byInvoice.get(a.invoice_id)!.attempts.push({
      at: date(a.created_at),
      trigger: a.trigger,
      outcome: a.outcome,
      reason: a.reason ?? null,
      retry_class: a.retry_class ?? null,
      payment_method_id: a.payment_method_id ?? null,
      not_before: a.not_before ? date(a.not_before) : null,
    });
  for (const e of emails) byInvoice.get(e.invoice_id)!.emails.push({ template: e.template, at: date(e.created_at) });
  return out;
}

/** Every attempt on these cards from 30 days before `since` (the caps' window), by card, oldest first. */
export async function cardAttemptsSince(q: Queryable, cards: string[], since: Date): Promise<Map<string, { at: Date; outcome: AttemptOutcome }[]>> {
  const out = new Map<string, { at: Date; outcome: AttemptOutcome }[]>();
  const unique = [...new Set(cards)];
  if (!unique.length) return out;
  const rows = await q.query<Row>(
    `SELECT payment_method_id, created_at, outcome FROM payment_attempts
      WHERE payment_method_id = ANY($1::text[]) AND created_at >= $2 AND outcome <> 'not_made'
      ORDER BY payment_method_id, created_at`,
    [unique, new Date(since.getTime() - 30 * DAY)],
  );
  for (const r of rows) {
    const list = out.get(r.payment_method_id) ?? [];
    list.push({ at: date(r.created_at), outcome: r.outcome });
    out.set(r.payment_method_id, list);
  }
  return out;
}
