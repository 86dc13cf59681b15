// Browser sessions of the pages: a random id in an HttpOnly, SameSite=Strict cookie; in the
// database (store/web-sessions.ts), under the id's SHA-256 only, who is signed in, the CSRF token,
// the next page's message and the card page in progress. Every instance shares them and a restart
// keeps them (issue 16). The cookie holds no secret of its own (no admin key, no portal token): a
// customer's session names its portal session, an operator's the admin key, and each ends when that
// one is revoked or (portal session) expires. At most `cap` live sessions per account or key: a new
// sign-in drops the oldest.
//
// Session lifetimes are about people at a browser, so they run on wall-clock time, not on the
// (possibly test) billing clock: advancing the test clock by a month must not sign the operator out.
// (The portal session behind a customer's, a billing object, expires on the service clock.)
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../store/db.ts';
import { sha256 } from '../lib/crypto.ts';
import { deleteWebSession, insertWebSession, saveWebSessionState, touchWebSession, webSessionByHash, type WebSessionRow } from '../store/web-sessions.ts';

export interface CustomerSession {
  kind: 'customer';
  account_id: string;
  /** The portal session it was opened with (its expiry or revocation signs this browser out). */
  portal_session_id: string;
  /** The hosted card page this browser opened last: its gateway session and the SHA-256 of its state nonce (the return must match). */
  cardSetup?: { id: string; state_hash: string };
}

export interface OperatorSession {
  kind: 'operator';
  /** The admin key signed in with (its id: the key itself is never kept); revoking it signs the session out. */
  key_id: string;
}

export type SessionData = CustomerSession | OperatorSession;

export interface Session<T extends SessionData = SessionData> {
  id: string;
  data: T;
  csrf: string;
  /** One-shot message shown on the next page (post/redirect/get). */
  flash: Flash | null;
  lastSeen: number;
  created: number;
}

export interface Flash {
  kind: 'success' | 'error' | 'info';
  text: string;
  /** Element id the message is about (scroll/focus target). */
  target?: string;
  /** Form fields to mark invalid, with their messages. */
  fields?: Record<string, string>;
  /** Values to put back into a form after an error (never card data). */
  values?: Record<string, string>;
}

export const random = (bytes = 32) => randomBytes(bytes).toString('base64url');

export function safeEqual(a: string | undefined | null, b: string | undefined | null): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length === 0) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Sessions live per account (customer) or per admin key (operator); a new one drops the oldest beyond. */
export const SESSIONS_PER_OWNER = 20;
/** A session seen again is written back at most this often (its idle end moves): not one write per request. */
const TOUCH_EVERY_MS = 60_000;

export interface SessionStoreOptions {
  /** Wall-clock time (tests inject theirs). */
  now?: () => number;
  /** The service clock, for the portal session behind a customer's session (default: wall clock). */
  billingNow?: () => number;
  cap?: number;
}

export class SessionStore<T extends SessionData> {
  readonly db: Db;
  readonly cookieName: string;
  readonly cookiePath: string;
  /** Idle timeout and absolute lifetime, in ms. */
  readonly idleMs: number;
  readonly maxMs: number;
  readonly cap: number;
  private readonly now: () => number;
  private readonly billingNow: () => number;
  /** The session each request loaded, as loaded: what changed is written back before the answer leaves. */
  private readonly loaded = new WeakMap<FastifyRequest, { s: Session<T>; state: string }>();
  constructor(
    db: Db,
    cookieName: string,
    cookiePath: string,
    /** Idle timeout and absolute lifetime, in ms. */
    idleMs: number,
    maxMs: number,
    opts: SessionStoreOptions = {},
  ) {
    this.db = db;
    this.cookieName = cookieName;
    this.cookiePath = cookiePath;
    this.idleMs = idleMs;
    this.maxMs = maxMs;
    this.now = opts.now ?? Date.now;
    this.billingNow = opts.billingNow ?? Date.now;
    this.cap = opts.cap ?? SESSIONS_PER_OWNER;
  }

  /**
   * Writes back, before each answer of `app`'s routes is sent, what a handler changed in the session
   * it loaded (the next page's message, the card page): the redirect that follows reads it from the
   * database, whichever instance serves it.
   */
  register(app: FastifyInstance) {
    app.addHook('onSend', async (req, _reply, payload) => {
      const l = this.loaded.get(req);
      if (l && stateOf(l.s) !== l.state) {
        l.state = stateOf(l.s);
        await saveWebSessionState(this.db, sha256(l.s.id), l.s.flash, (l.s.data as Partial<CustomerSession>).cardSetup ?? null);
      }
      return payload;
    });
  }

  async create(data: T): Promise<Session<T>> {
    const t = this.now();
    const s: Session<T> = { id: random(), data, csrf: random(), flash: null, lastSeen: t, created: t };
    await insertWebSession(
      this.db,
      {
        id_hash: sha256(s.id),
        kind: data.kind,
        owner_id: data.kind === 'customer' ? data.account_id : data.key_id,
        portal_session_id: data.kind === 'customer' ? data.portal_session_id : null,
        csrf: s.csrf,
        created_at: new Date(t),
        expires_at: new Date(t + this.maxMs),
        ends_at: new Date(t + Math.min(this.idleMs, this.maxMs)),
      },
      this.cap,
    );
    return s;
  }

  /** The live session with this id, or null (unknown, idle too long, too old, or what signed it in ended: then it is deleted). */
  async get(id: string | undefined): Promise<Session<T> | null> {
    if (!id || id.length > 100) return null;
    const hash = sha256(id);
    const r = await webSessionByHash(this.db, hash);
    if (!r) return null;
    const t = this.now();
    if (new Date(r.ends_at).getTime() <= t || !this.signedIn(r)) {
      await deleteWebSession(this.db, hash);
      return null;
    }
    const lastSeen = new Date(r.last_seen_at).getTime();
    if (t - lastSeen >= TOUCH_EVERY_MS) await touchWebSession(this.db, hash, new Date(t), new Date(t + this.idleMs));
    const data = (
      r.kind === 'customer'
        ? { kind: 'customer', account_id: r.owner_id, portal_session_id: r.portal_session_id, ...(r.card_setup ? { cardSetup: r.card_setup } : {}) }
        : { kind: 'operator', key_id: r.owner_id }
    ) as T;
    return { id, data, csrf: r.csrf, flash: (r.flash as Flash | null) ?? null, lastSeen: t, created: new Date(r.created_at).getTime() };
  }

  /** What signed the session in still holds: the portal session (not revoked, not expired, same account), the admin key. */
  private signedIn(r: WebSessionRow): boolean {
    if (r.kind === 'operator') return r.key_active;
    return r.ps_account_id === r.owner_id && !r.ps_revoked_at && r.ps_expires_at !== null && new Date(r.ps_expires_at).getTime() > this.billingNow();
  }

  async destroy(id: string | undefined) {
    if (id) await deleteWebSession(this.db, sha256(id));
  }

  /** The session of this request, from its cookie (what the handler changes in it is saved by `register`'s hook). */
  async fromRequest(req: FastifyRequest): Promise<Session<T> | null> {
    const s = await this.get(req.cookies?.[this.cookieName]);
    if (s) this.loaded.set(req, { s, state: stateOf(s) });
    return s;
  }

  setCookie(req: FastifyRequest, reply: FastifyReply, s: Session<T>) {
    reply.setCookie(this.cookieName, s.id, cookieOptions(req, this.cookiePath));
  }

  clearCookie(req: FastifyRequest, reply: FastifyReply) {
    reply.clearCookie(this.cookieName, cookieOptions(req, this.cookiePath));
  }

  takeFlash(s: Session<T>): Flash | null {
    const f = s.flash;
    s.flash = null;
    return f;
  }
}

function stateOf(s: Session): string {
  return JSON.stringify([s.flash, (s.data as Partial<CustomerSession>).cardSetup ?? null]);
}

export function cookieOptions(req: FastifyRequest, path: string) {
  return { path, httpOnly: true, sameSite: 'strict' as const, secure: req.protocol === 'https' };
}

/** True when the form's CSRF token matches the session's. */
export function csrfOk(s: Session | null, body: unknown): boolean {
  const token = body && typeof body === 'object' ? (body as Record<string, unknown>)._csrf : undefined;
  return !!s && safeEqual(typeof token === 'string' ? token : undefined, s.csrf);
}
