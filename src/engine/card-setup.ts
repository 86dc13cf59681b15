// Card capture that never touches a card number: the customer types the card on the gateway's
// hosted page (Stripe Checkout in setup mode, or the sandbox's copy of it), the gateway attaches
// it to the account's customer, and renewd saves the pm_… it reads back from the gateway — through
// the same command as PUT /v1/accounts/{id}/payment-method, so a past-due invoice is retried at once.
//
// startCardSetup records the gateway session with the SHA-256 of a state nonce; the nonce rides in
// the success URL and (for the pages) in the browser session that started it. completeCardSetup is
// idempotent and trusts only the gateway: the browser's return, a replay of it and the gateway's
// event (checkout.session.completed / setup_intent.succeeded, wired by the events work) all end in
// one saved card at most.
import { CommandError } from '../core/errors.ts';
import type { PaymentMethod } from '../core/types.ts';
import { newSecret, sha256 } from '../lib/crypto.ts';
import { setGatewayCustomerRef } from '../store/accounts.ts';
import { cardSetupById, claimCardSetup, completeCardSetupRow, insertCardSetup, markCardSetupReturned, releaseCardSetup, type CardSetupRow } from '../store/card-setup.ts';
import { GatewayError } from '../gateway/errors.ts';
import type { AppContext } from './context.ts';
import { RATE_LIMITS, enforce } from './limits.ts';
import { changePaymentMethod, type Requester } from './payment-method.ts';
import { backupConsentRefusal, setBackupCard } from './backup-card.ts';

type Ctx = Pick<AppContext, 'db' | 'clock' | 'commands' | 'engine' | 'publicUrl' | 'gatewayKind'>;

/** How long one completion may hold the lease before another may take over (a crashed process). */
const CLAIM_LEASE_MS = 2 * 60_000;

/** Where the customer's browser goes after the gateway's page. */
export type CardSetupReturn =
  /** The customer pages: back to /portal/billing/return, then Billing information. */
  | { to: 'portal' }
  /** An integrator's app (API): renewd completes the setup, then sends the browser to `url` (or shows the result itself). */
  | { to: 'api'; url: string | null };

export interface StartedCardSetup {
  id: string;
  url: string;
  expires_at: Date;
  /** The state nonce (shown once: the pages keep it in the browser session; only its hash is stored). */
  state: string;
}

export type CardSetupResult =
  | { status: 'saved'; already: boolean; payment_method_id: string | null; attempt: { outcome: string; reason: string | null } | null }
  | { status: 'open' | 'expired' | 'in_progress' };

/** The path of the gateway's return to renewd (success_url without its query). */
export const CARD_SETUP_RETURN_PATH = '/portal/billing/return';

/** The gateway's trouble as the engine's kind (503 gateway_unavailable): nothing was recorded. */
async function gatewayCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof GatewayError) throw new CommandError('unavailable', 'gateway_unavailable', err.message, { gateway_code: err.code });
    throw err;
  }
}

function checkReturnUrl(ctx: Ctx, url: string | null, by: Requester): string | null {
  if (url === null) return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CommandError('invalid', 'validation_error', 'return_url must be an absolute http(s) URL', { errors: [{ field: 'return_url', message: 'not a URL' }] });
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new CommandError('invalid', 'validation_error', 'return_url must be an absolute http(s) URL', { errors: [{ field: 'return_url', message: 'not http(s)' }] });
  // A customer's token may only send the browser back to renewd's own origin (no open redirect);
  // the operator's key names the integrator's app.
  if (by === 'customer' && u.origin !== new URL(ctx.publicUrl).origin)
    throw new CommandError('invalid', 'validation_error', `with a customer token, return_url must be on ${new URL(ctx.publicUrl).origin}`, { errors: [{ field: 'return_url', message: 'other origin' }] });
  return u.toString();
}

/**
 * Opens the gateway's hosted card page for the account. Creates the gateway customer first when
 * the account has none. Nothing is recorded when the gateway refuses.
 */
export async function startCardSetup(
  ctx: Ctx,
  accountId: string,
  opts: { return_to: CardSetupReturn; by?: Requester; purpose?: 'primary' | 'backup'; consent?: boolean },
): Promise<StartedCardSetup> {
  const by = opts.by ?? 'customer';
  // A backup card (engine/backup-card.ts) is captured only with the customer's consent, given before the page opens.
  if (opts.purpose === 'backup' && opts.consent !== true) throw backupConsentRefusal();
  const account = await ctx.commands.requireAccount(accountId);
  const returnUrl = opts.return_to.to === 'api' ? checkReturnUrl(ctx, opts.return_to.url, by) : null;
  if (by === 'customer') await enforce(ctx.db, ctx.clock, RATE_LIMITS.cardSetups, account.id);
  let customerRef = account.gateway_customer_ref;
  if (!customerRef) {
    const made = await gatewayCall(() => ctx.commands.gateway.createCustomer({ account_id: account.id, email: account.email, name: account.name }));
    customerRef = await setGatewayCustomerRef(ctx.db, account.id, made);
    if (!customerRef) throw new CommandError('not_found', 'not_found', `no account ${account.id}`);
  }
  const state = newSecret('cst');
  const base = ctx.publicUrl.replace(/\/+$/, '');
  // {CHECKOUT_SESSION_ID} is filled in by the gateway (Stripe's documented placeholder).
  const success_url = `${base}${CARD_SETUP_RETURN_PATH}?session_id={CHECKOUT_SESSION_ID}&state=${encodeURIComponent(state)}`;
  const cancel_url = returnUrl ?? `${base}/portal#billing`;
  const s = await gatewayCall(() =>
    ctx.commands.gateway.startCardSetup({ customer_ref: customerRef, account_id: account.id, success_url, cancel_url, locale: account.locale, currency: account.currency }),
  );
  await insertCardSetup(ctx.db, {
    gateway_session_id: s.id,
    account_id: account.id,
    state_hash: sha256(state),
    started_by: opts.return_to.to,
    return_url: returnUrl,
    created_at: ctx.clock.now(),
    expires_at: s.expires_at,
    purpose: opts.purpose ?? 'primary',
  });
  return { id: s.id, url: s.url, expires_at: s.expires_at, state };
}

/** The recorded setup session, when `state` is its nonce; null for an unknown id or another nonce. */
export async function cardSetupForReturn(ctx: Ctx, setupId: string, state: string): Promise<CardSetupRow | null> {
  if (!setupId || !state || setupId.length > 255 || state.length > 255) return null;
  const row = await cardSetupById(ctx.db, setupId);
  if (!row || row.state_hash !== sha256(state)) return null;
  return row;
}

/** Takes the browser's one return with the nonce; false for a replay. */
export async function takeCardSetupReturn(ctx: Ctx, setupId: string): Promise<boolean> {
  return markCardSetupReturned(ctx.db, setupId, ctx.clock.now());
}

function stored(row: CardSetupRow): CardSetupResult {
  return {
    status: 'saved',
    already: true,
    payment_method_id: row.payment_method_id,
    attempt: row.attempt_outcome ? { outcome: row.attempt_outcome, reason: row.attempt_reason } : null,
  };
}

/**
 * Saves the card of a completed setup session (by its gateway session id). Idempotent: a second
 * completion answers the first one's result and changes nothing. Reads the session from the
 * gateway (never from the browser), checks that it is this account's, then saves its payment
 * method with the customer's command (its limits; a past-due invoice is retried at once).
 */
export async function completeCardSetup(ctx: Ctx, setupId: string): Promise<CardSetupResult> {
  const row = await cardSetupById(ctx.db, setupId);
  if (!row) throw new CommandError('not_found', 'not_found', `no card setup session ${setupId}`);
  if (row.completed_at) return stored(row);
  const g = await gatewayCall(() => ctx.commands.gateway.getCardSetup(setupId));
  if (g.id !== setupId || g.account_id !== row.account_id)
    throw new CommandError('conflict', 'card_setup_mismatch', 'the gateway session does not belong to this account; nothing was saved');
  if (g.status !== 'complete' || !g.payment_method) return { status: g.status === 'expired' ? 'expired' : 'open' };
  const now = ctx.clock.now();
  if (!(await claimCardSetup(ctx.db, setupId, now, new Date(now.getTime() - CLAIM_LEASE_MS)))) {
    const again = await cardSetupById(ctx.db, setupId);
    return again?.completed_at ? stored(again) : { status: 'in_progress' };
  }
  let r: { payment_method: PaymentMethod; attempt: { outcome: string; reason: string | null } | null };
  try {
    const input = { type: 'card' as const, token: g.payment_method.gateway_ref, attached: g.payment_method };
    if (row.purpose === 'backup') {
      // The consent was given when the page was opened (startCardSetup refuses a backup without it).
      const b = await setBackupCard(ctx, row.account_id, { ...input, consent: true }, 'customer');
      r = { payment_method: b.backup.payment_method, attempt: b.attempt };
    } else r = await changePaymentMethod(ctx, row.account_id, input, 'customer');
  } catch (err) {
    await releaseCardSetup(ctx.db, setupId);
    throw err;
  }
  const attempt = r.attempt ? { outcome: r.attempt.outcome, reason: r.attempt.reason ?? null } : null;
  await completeCardSetupRow(ctx.db, setupId, {
    completed_at: ctx.clock.now(),
    payment_method_id: r.payment_method.id,
    attempt_outcome: attempt?.outcome ?? null,
    attempt_reason: attempt?.reason ?? null,
  });
  return { status: 'saved', already: false, payment_method_id: r.payment_method.id, attempt };
}
