// Outage-aware grace (issue #18 item 2): when technical failures (issuer unavailable, payment
// system failure, gateway timeouts and 5xx) rise well above their recent rate, across the gateway
// or for one card brand, an incident is open. Pure: the store counts, this decides.
//
// Scopes: 'gateway' (every attempt) and 'brand:<card brand>' (the attempts on cards of one
// brand). The card's BIN (issuer range) is not stored by renewd (payment_methods keeps brand,
// last4 and expiry only), so the issuer-side scope is the brand for now; a 'bin:<6 digits>' scope
// fits the same functions once the adapter stores it.
//
// Decision, per scope, each time the engine evaluates (at most once a minute of clock time):
//   (an attempt whose outcome is still unknown counts in the window whatever its age: the gateway
//   has not answered it, nor the lookups that reconcile it)
//   - open  when the technical failures of the last `window_minutes` are at least `min_declines`
//           and at least `ratio` times what the preceding `baseline_hours` would predict for a
//           window of that length (its rate scaled to the window);
//   - no brand incident opens while the gateway's is open (or opening): it covers every card;
//   - close when the last window falls back below `min_declines` (while an incident is open the
//           engine spends no attempt on the invoices it covers, so the count falls once the
//           failures stop coming from the renewals still being made), and not before it has been
//           open `minOpenMinutes`: one window, doubled each time its scope reopens right after a
//           close. An issuer's declines leave the window while the engine holds its attempts, so
//           the window empties with the issuer still down; the spread retries then fail and reopen
//           it. Without the doubling, a 6-hour issuer outage flapped 17 times, spending 355
//           retries into it (`npm run bench -- --only recovery --recovery-outage-mode issuer`).
import { HOUR } from './time.ts';

export interface IncidentPolicy {
  enabled: boolean;
  /** The recent window whose technical failures are counted (minutes). */
  window_minutes: number;
  /** The window before it, whose rate is the baseline (hours). */
  baseline_hours: number;
  /** At least this many technical failures in the window to open an incident. */
  min_declines: number;
  /** …and at least this many times the baseline rate. */
  ratio: number;
  /** When an incident closes, the retries it held are spread over this many minutes. */
  spread_minutes: number;
}

export const DEFAULT_INCIDENT_POLICY: IncidentPolicy = {
  enabled: true,
  window_minutes: 15,
  baseline_hours: 24,
  min_declines: 20,
  ratio: 5,
  spread_minutes: 60,
};

/** The scopes an attempt on a card counts in (and an invoice on that card is covered by). */
export function scopesOf(card: { brand: string | null } | null): string[] {
  return card?.brand ? ['gateway', `brand:${card.brand}`] : ['gateway'];
}

/** Technical failures of one scope: in the window, and in the baseline window before it. */
export interface ScopeCounts {
  scope: string;
  window: number;
  baseline: number;
  /** Every attempt of the scope in the window and in the baseline (the share's denominators). */
  window_attempts?: number;
  baseline_attempts?: number;
}

/**
 * The share of technical failures among the window's attempts must also rise: a billing day
 * charges its renewals in one batch, so the count of technical failures jumps at that hour with
 * the attempts, not because anything is down. The baseline share is taken at least
 * BASELINE_SHARE_FLOOR (technical failures are a few per cent of attempts), and the share asked
 * for is at most SHARE_NEEDED_MAX (in a population of failing renewals, where a fifth or more are
 * technical, an outage still shows as most attempts failing so).
 */
export const BASELINE_SHARE_FLOOR = 0.02;
export const SHARE_NEEDED_MAX = 0.5;

/** The window's technical share is `ratio` times the baseline's (bounded as above); true when not counted. */
export function shareRises(p: IncidentPolicy, c: Pick<ScopeCounts, 'window' | 'baseline' | 'window_attempts' | 'baseline_attempts'>): boolean {
  if (c.window_attempts === undefined || c.baseline_attempts === undefined) return true;
  const share = c.window / Math.max(1, c.window_attempts);
  const before = c.baseline_attempts > 0 ? c.baseline / c.baseline_attempts : 0;
  return share >= Math.min(SHARE_NEEDED_MAX, p.ratio * Math.max(BASELINE_SHARE_FLOOR, before));
}

export interface OpenIncident {
  id: string;
  scope: string;
  opened_at: Date;
  /** How many times in a row its scope reopened right after a close (0: a fresh incident). */
  reopens?: number;
}

/** An incident closed recently: whether a new one of its scope is a reopening. */
export interface ClosedIncident {
  scope: string;
  closed_at: Date;
  reopens: number;
}

/** The least time an incident stays open: one window, doubled per reopening, at most the baseline. */
export function minOpenMinutes(p: IncidentPolicy, reopens: number): number {
  return Math.min(p.window_minutes * 2 ** Math.min(Math.max(0, reopens), 30), p.baseline_hours * 60);
}

/**
 * A new incident of a scope is a reopening when the scope's last incident closed less than its own
 * least open time ago (the outage it was about had not ended): one more than that one's count.
 */
export function reopensOf(p: IncidentPolicy, scope: string, recent: readonly ClosedIncident[], now: Date): number {
  const last = recent.filter((r) => r.scope === scope).sort((a, b) => b.closed_at.getTime() - a.closed_at.getTime())[0];
  if (!last) return 0;
  return now.getTime() - last.closed_at.getTime() < minOpenMinutes(p, last.reopens) * 60_000 ? last.reopens + 1 : 0;
}

export interface IncidentDecision {
  open: { scope: string; technical_declines: number; baseline: number; reopens: number }[];
  /** Ids of the open incidents to close. */
  close: string[];
}

/** The windows the store counts in: [baseline_from, window_from) and [window_from, now]. */
export function incidentWindows(p: IncidentPolicy, now: Date): { baseline_from: Date; window_from: Date } {
  const window_from = new Date(now.getTime() - p.window_minutes * 60_000);
  return { window_from, baseline_from: new Date(window_from.getTime() - p.baseline_hours * HOUR) };
}

/** The baseline's count scaled to one window. */
export function expectedInWindow(p: IncidentPolicy, baseline: number): number {
  return (baseline * p.window_minutes) / (p.baseline_hours * 60);
}

export function opensIncident(p: IncidentPolicy, c: Pick<ScopeCounts, 'window' | 'baseline' | 'window_attempts' | 'baseline_attempts'>): boolean {
  return p.enabled && c.window >= p.min_declines && c.window >= p.ratio * expectedInWindow(p, c.baseline) && shareRises(p, c);
}

/**
 * Which incidents open and which close, from the counts of every scope that had a technical failure.
 * `now` and `recent` (incidents closed lately) make the least open time apply; without `now`, an
 * incident closes as soon as its window falls below `min_declines`.
 */
export function decideIncidents(p: IncidentPolicy, counts: ScopeCounts[], open: OpenIncident[], now?: Date, recent: readonly ClosedIncident[] = []): IncidentDecision {
  const byScope = new Map(counts.map((c) => [c.scope, c]));
  const openScopes = new Set(open.map((i) => i.scope));
  const decision: IncidentDecision = { open: [], close: [] };
  for (const c of counts)
    if (!openScopes.has(c.scope) && opensIncident(p, c))
      decision.open.push({ scope: c.scope, technical_declines: c.window, baseline: c.baseline, reopens: now ? reopensOf(p, c.scope, recent, now) : 0 });
  // The gateway's incident covers every card: no brand incident opens beside it (a card's grace
  // would be extended twice for the same time).
  if (openScopes.has('gateway') || decision.open.some((o) => o.scope === 'gateway')) decision.open = decision.open.filter((o) => o.scope === 'gateway');
  for (const i of open) {
    const c = byScope.get(i.scope);
    const held = !!now && now.getTime() - i.opened_at.getTime() < minOpenMinutes(p, i.reopens ?? 0) * 60_000;
    if (!p.enabled || ((!c || c.window < p.min_declines) && !held)) decision.close.push(i.id);
  }
  return decision;
}

/** The open incident that covers a card (the gateway's first), if any. */
export function incidentCovering<T extends Pick<OpenIncident, 'scope'>>(open: readonly T[], card: { brand: string | null } | null): T | null {
  const scopes = scopesOf(card);
  for (const s of scopes) {
    const i = open.find((x) => x.scope === s);
    if (i) return i;
  }
  return null;
}

/**
 * When a retry held by a closed incident is made: the close instant plus a deterministic offset
 * in [0, spread) from the subscription id, so the held invoices are not all retried at once.
 */
export function spreadRetryAt(subscriptionId: string, closedAt: Date, spreadMinutes: number): Date {
  const spread = Math.max(0, spreadMinutes) * 60_000;
  if (spread === 0) return closedAt;
  // FNV-1a: stable across processes and versions, no crypto needed for an offset.
  let h = 0x811c9dc5;
  for (let i = 0; i < subscriptionId.length; i++) {
    h ^= subscriptionId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // murmur3's finalizer: ids that differ in their last characters land far apart.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return new Date(closedAt.getTime() + Math.floor((h / 0x1_0000_0000) * spread));
}

export interface IncidentPolicyError {
  field: string;
  message: string;
}

export function validateIncidentPolicy(p: IncidentPolicy | undefined): IncidentPolicyError[] {
  const errs: IncidentPolicyError[] = [];
  if (!p || typeof p !== 'object') return [{ field: 'incidents', message: 'must be an object' }];
  const isInt = (n: unknown) => typeof n === 'number' && Number.isInteger(n);
  if (typeof p.enabled !== 'boolean') errs.push({ field: 'incidents.enabled', message: 'must be true or false' });
  if (!isInt(p.window_minutes) || p.window_minutes < 1 || p.window_minutes > 24 * 60) errs.push({ field: 'incidents.window_minutes', message: 'must be a whole number of minutes from 1 to 1440' });
  if (!isInt(p.baseline_hours) || p.baseline_hours < 1 || p.baseline_hours > 24 * 30) errs.push({ field: 'incidents.baseline_hours', message: 'must be a whole number of hours from 1 to 720' });
  else if (isInt(p.window_minutes) && p.baseline_hours * 60 <= p.window_minutes) errs.push({ field: 'incidents.baseline_hours', message: 'must be longer than the window' });
  if (!isInt(p.min_declines) || p.min_declines < 1 || p.min_declines > 1_000_000) errs.push({ field: 'incidents.min_declines', message: 'must be a whole number from 1 to 1000000' });
  if (typeof p.ratio !== 'number' || !Number.isFinite(p.ratio) || p.ratio < 1 || p.ratio > 1000) errs.push({ field: 'incidents.ratio', message: 'must be a number from 1 to 1000' });
  if (!isInt(p.spread_minutes) || p.spread_minutes < 0 || p.spread_minutes > 24 * 60) errs.push({ field: 'incidents.spread_minutes', message: 'must be a whole number of minutes from 0 to 1440' });
  return errs;
}
