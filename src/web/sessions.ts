// Browser sessions of the pages: a random id in an HttpOnly, SameSite=Strict cookie, mapped in
// this process's memory to who is signed in and the session's CSRF token. The cookie holds no
// secret of its own (no admin key, no portal token); a restart signs everyone out.
//
// Session lifetimes are about people at a browser, so they run on wall-clock time, not on the
// (possibly test) billing clock: advancing the test clock by a month must not sign the operator out.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface CustomerSession {
  kind: 'customer';
  /** The portal-session token, kept server-side to re-check expiry/revocation on every request. */
  token: string;
  account_id: string;
  /** The hosted card page this browser opened last: its gateway session and state nonce (the return must match). */
  cardSetup?: { id: string; state: string };
}

export interface OperatorSession {
  kind: 'operator';
  /** The admin key typed at sign-in, kept server-side only: re-checked on every request, used for API-only operations. */
  key: string;
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

export class SessionStore<T extends SessionData> {
  private readonly sessions = new Map<string, Session<T>>();

  readonly cookieName: string;
  readonly cookiePath: string;
  /** Idle timeout and absolute lifetime, in ms. */
  readonly idleMs: number;
  readonly maxMs: number;
  private readonly now: () => number;
  constructor(
    cookieName: string,
    cookiePath: string,
    /** Idle timeout and absolute lifetime, in ms. */
    idleMs: number,
    maxMs: number,
    now: () => number = Date.now,
  ) {
    this.cookieName = cookieName;
    this.cookiePath = cookiePath;
    this.idleMs = idleMs;
    this.maxMs = maxMs;
    this.now = now;
  }

  create(data: T): Session<T> {
    this.sweep();
    const s: Session<T> = { id: random(), data, csrf: random(), flash: null, lastSeen: this.now(), created: this.now() };
    this.sessions.set(s.id, s);
    return s;
  }

  get(id: string | undefined): Session<T> | null {
    if (!id) return null;
    const s = this.sessions.get(id);
    if (!s) return null;
    const t = this.now();
    if (t - s.lastSeen > this.idleMs || t - s.created > this.maxMs) {
      this.sessions.delete(id);
      return null;
    }
    s.lastSeen = t;
    return s;
  }

  destroy(id: string | undefined) {
    if (id) this.sessions.delete(id);
  }

  /** The session of this request, from its cookie. */
  fromRequest(req: FastifyRequest): Session<T> | null {
    return this.get(req.cookies?.[this.cookieName]);
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

  private sweep() {
    if (this.sessions.size < 1000) return;
    const t = this.now();
    for (const [id, s] of this.sessions) if (t - s.lastSeen > this.idleMs || t - s.created > this.maxMs) this.sessions.delete(id);
  }
}

export function cookieOptions(req: FastifyRequest, path: string) {
  return { path, httpOnly: true, sameSite: 'strict' as const, secure: req.protocol === 'https' };
}

/** True when the form's CSRF token matches the session's. */
export function csrfOk(s: Session | null, body: unknown): boolean {
  const token = body && typeof body === 'object' ? (body as Record<string, unknown>)._csrf : undefined;
  return !!s && safeEqual(typeof token === 'string' ? token : undefined, s.csrf);
}
