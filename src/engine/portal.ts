// Portal sessions: short-lived bearer tokens that let a customer reach their own account (billing
// information, purchase history, Retry, Request help). The token is shown once; only its SHA-256
// is stored (src/http/auth.ts resolves it). Expired or revoked tokens are refused.
import type { Clock } from '../core/clock.ts';
import type { Db } from '../store/db.ts';
import { insertEvents } from '../store/billing.ts';
import { accountExists } from '../store/accounts.ts';
import { insertPortalSession, lockPortalSession, portalSessionById, portalSessionsOf, revokePortalSession, type PortalSession } from '../store/credentials.ts';
import { newId } from '../store/ids.ts';
import { newSecret, sha256 } from '../lib/crypto.ts';
import { CommandError } from '../core/errors.ts';

export const PORTAL_TTL_DEFAULT_MINUTES = 60;
export const PORTAL_TTL_MIN_MINUTES = 5;
export const PORTAL_TTL_MAX_MINUTES = 1440;

export interface PortalSessionView {
  id: string;
  account_id: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  /** Neither expired nor revoked. */
  active: boolean;
}

export interface NewPortalSession extends PortalSessionView {
  /** Shown once; send it as `Authorization: Bearer <token>` or open `url`. */
  token: string;
  url: string;
}

function view(s: PortalSession, now: Date): PortalSessionView {
  const { id, account_id, created_at, expires_at, revoked_at } = s;
  return { id, account_id, created_at, expires_at, revoked_at, active: !revoked_at && expires_at.getTime() > now.getTime() };
}

export class PortalSessions {
  readonly db: Db;
  readonly clock: Clock;
  /** Base URL of the service; the customer pages live at `${publicUrl}/portal`. */
  readonly publicUrl: string;
  constructor(
    db: Db,
    clock: Clock,
    /** Base URL of the service; the customer pages live at `${publicUrl}/portal`. */
    publicUrl: string,
  ) {
    this.db = db;
    this.clock = clock;
    this.publicUrl = publicUrl;
  }

  async create(accountId: string, opts: { ttl_minutes?: number } = {}): Promise<NewPortalSession> {
    const ttl = opts.ttl_minutes ?? PORTAL_TTL_DEFAULT_MINUTES;
    if (!Number.isInteger(ttl) || ttl < PORTAL_TTL_MIN_MINUTES || ttl > PORTAL_TTL_MAX_MINUTES)
      throw new CommandError('invalid', 'validation_error', `ttl_minutes must be a whole number from ${PORTAL_TTL_MIN_MINUTES} to ${PORTAL_TTL_MAX_MINUTES}`);
    const now = this.clock.now();
    const id = newId('pses');
    const token = newSecret('ps');
    const expires_at = new Date(now.getTime() + ttl * 60_000);
    await this.db.tx(async (q) => {
      if (!(await accountExists(q, accountId))) throw new CommandError('not_found', 'not_found', `no account ${accountId}`);
      await insertPortalSession(q, { id, token_hash: sha256(token), account_id: accountId, created_at: now, expires_at });
      await insertEvents(q, [{ account_id: accountId, type: 'portal_session.created', data: { portal_session_id: id, expires_at } }], now);
    });
    return {
      id,
      account_id: accountId,
      created_at: now,
      expires_at,
      revoked_at: null,
      active: true,
      token,
      url: `${this.publicUrl.replace(/\/+$/, '')}/portal?token=${encodeURIComponent(token)}`,
    };
  }

  async get(id: string): Promise<PortalSessionView | null> {
    const s = await portalSessionById(this.db, id);
    return s ? view(s, this.clock.now()) : null;
  }

  async list(accountId: string, limit = 100): Promise<PortalSessionView[]> {
    const sessions = await portalSessionsOf(this.db, accountId, limit);
    const now = this.clock.now();
    return sessions.map((s) => view(s, now));
  }

  /** Revokes a session (its token stops working at once). Revoking twice changes nothing. */
  async revoke(id: string): Promise<PortalSessionView> {
    const now = this.clock.now();
    return this.db.tx(async (q) => {
      const r = await lockPortalSession(q, id);
      if (!r) throw new CommandError('not_found', 'not_found', `no portal session ${id}`);
      if (r.revoked_at) return view(r, now);
      await revokePortalSession(q, id, now);
      await insertEvents(q, [{ account_id: r.account_id, type: 'portal_session.revoked', data: { portal_session_id: id } }], now);
      return view({ ...r, revoked_at: now }, now);
    });
  }
}
