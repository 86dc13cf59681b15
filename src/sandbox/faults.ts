// Fault injection for the sandbox PSP: latency, charges that hang past the client's timeout, 5xx
// answers (stored under the idempotency key, as Stripe stores a 500), and outage windows in clock
// time (the gateway's: 503s or dropped connections; or the issuers': charges declined). Random
// faults use a seeded generator, so a run can be replayed.

export type FaultPhase = 'before' | 'after';
export type OutageMode = 'error' | 'drop' | 'issuer';

export interface FaultConfig {
  /** Added to every /v1 request, in real milliseconds. */
  latencyMs: number;
  /**
   * Charges that never get an answer (the request hangs until the client gives up, or holdMs).
   * phase 'before': the charge is never processed (lookup finds nothing);
   * phase 'after': the charge is processed and its answer stored, then the response is withheld.
   */
  timeouts: { next: number; probability: number; phase: FaultPhase; holdMs: number };
  /**
   * Charges answered with a 5xx api_error, stored under the Idempotency-Key (a retry with the same
   * key gets the same 5xx). phase 'before': nothing was charged; 'after': the money moved anyway.
   */
  errors: { next: number; probability: number; status: number; phase: FaultPhase };
  /**
   * Requests answered 429 before any work, as Stripe's limiter does (nothing stored under the
   * Idempotency-Key): the next N /v1 requests (charges only with chargesOnly), code 'rate_limit'
   * or 'lock_timeout', with Retry-After: retryAfterS when > 0.
   */
  rateLimits: { next: number; chargesOnly: boolean; code: 'rate_limit' | 'lock_timeout'; retryAfterS: number };
  /**
   * While the clock is in [from, to): 'error' = every /v1 request is answered 503 (not stored),
   * 'drop' = every /v1 request's connection is closed, 'issuer' = every charge (PaymentIntent
   * create with confirm, confirm) is declined issuer_not_available (a card_error stored under the
   * Idempotency-Key like any decline) while other requests work.
   */
  outages: Array<{ from: string; to: string; mode: OutageMode }>;
  /** Seed of the generator behind the probabilities. */
  seed: number;
}

export interface FaultInput {
  latencyMs?: number;
  timeouts?: Partial<FaultConfig['timeouts']>;
  errors?: Partial<FaultConfig['errors']>;
  rateLimits?: Partial<FaultConfig['rateLimits']>;
  outages?: Array<{ from: string | Date; to: string | Date; mode?: OutageMode }>;
  seed?: number;
}

export function defaultFaults(): FaultConfig {
  return {
    latencyMs: 0,
    timeouts: { next: 0, probability: 0, phase: 'after', holdMs: 600_000 },
    errors: { next: 0, probability: 0, status: 500, phase: 'before' },
    rateLimits: { next: 0, chargesOnly: false, code: 'rate_limit', retryAfterS: 0 },
    outages: [],
    seed: 1,
  };
}

function num(v: unknown, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new TypeError(`${name} must be a number from ${min} to ${max}`);
  return n;
}
function int(v: unknown, name: string, min: number, max: number): number {
  const n = num(v, name, min, max);
  if (!Number.isInteger(n)) throw new TypeError(`${name} must be an integer`);
  return n;
}
function phase(v: unknown, name: string): FaultPhase {
  if (v !== 'before' && v !== 'after') throw new TypeError(`${name} must be "before" or "after"`);
  return v;
}
function iso(v: unknown, name: string): string {
  const d = v instanceof Date ? v : new Date(String(v));
  if (Number.isNaN(d.getTime())) throw new TypeError(`${name} must be a date`);
  return d.toISOString();
}

/** Merges a partial change into the current configuration (validated; throws TypeError). */
export function mergeFaults(cur: FaultConfig, f: FaultInput): FaultConfig {
  if (!f || typeof f !== 'object') throw new TypeError('faults must be an object');
  const next: FaultConfig = structuredClone(cur);
  if (f.latencyMs !== undefined) next.latencyMs = int(f.latencyMs, 'latencyMs', 0, 600_000);
  if (f.timeouts) {
    const t = f.timeouts;
    if (t.next !== undefined) next.timeouts.next = int(t.next, 'timeouts.next', 0, 1e9);
    if (t.probability !== undefined) next.timeouts.probability = num(t.probability, 'timeouts.probability', 0, 1);
    if (t.phase !== undefined) next.timeouts.phase = phase(t.phase, 'timeouts.phase');
    if (t.holdMs !== undefined) next.timeouts.holdMs = int(t.holdMs, 'timeouts.holdMs', 0, 3_600_000);
  }
  if (f.errors) {
    const e = f.errors;
    if (e.next !== undefined) next.errors.next = int(e.next, 'errors.next', 0, 1e9);
    if (e.probability !== undefined) next.errors.probability = num(e.probability, 'errors.probability', 0, 1);
    if (e.status !== undefined) next.errors.status = int(e.status, 'errors.status', 500, 599);
    if (e.phase !== undefined) next.errors.phase = phase(e.phase, 'errors.phase');
  }
  if (f.rateLimits) {
    const r = f.rateLimits;
    if (r.next !== undefined) next.rateLimits.next = int(r.next, 'rateLimits.next', 0, 1e9);
    if (r.chargesOnly !== undefined) {
      if (typeof r.chargesOnly !== 'boolean') throw new TypeError('rateLimits.chargesOnly must be true or false');
      next.rateLimits.chargesOnly = r.chargesOnly;
    }
    if (r.code !== undefined) {
      if (r.code !== 'rate_limit' && r.code !== 'lock_timeout') throw new TypeError('rateLimits.code must be "rate_limit" or "lock_timeout"');
      next.rateLimits.code = r.code;
    }
    if (r.retryAfterS !== undefined) next.rateLimits.retryAfterS = int(r.retryAfterS, 'rateLimits.retryAfterS', 0, 3600);
  }
  if (f.outages !== undefined) {
    if (!Array.isArray(f.outages)) throw new TypeError('outages must be an array of {from, to, mode?}');
    next.outages = f.outages.map((o, i) => {
      const from = iso(o?.from, `outages[${i}].from`);
      const to = iso(o?.to, `outages[${i}].to`);
      if (to <= from) throw new TypeError(`outages[${i}]: to must be after from`);
      const mode = o.mode ?? 'error';
      if (mode !== 'error' && mode !== 'drop' && mode !== 'issuer') throw new TypeError(`outages[${i}].mode must be "error", "drop" or "issuer"`);
      return { from, to, mode };
    });
  }
  if (f.seed !== undefined) next.seed = int(f.seed, 'seed', 0, 2 ** 32 - 1);
  return next;
}

export type ChargeFault = { kind: 'timeout'; phase: FaultPhase; holdMs: number } | { kind: 'error'; phase: FaultPhase; status: number } | null;

/** The live fault state: counters of "next N" faults and the seeded generator. */
export class Faults {
  config: FaultConfig = defaultFaults();
  private rng = mulberry32(1);
  private outageFrom: number[] = [];
  private outageTo: number[] = [];

  set(f: FaultInput) {
    const seeded = f.seed !== undefined;
    this.config = mergeFaults(this.config, f);
    if (seeded) this.rng = mulberry32(this.config.seed);
    this.outageFrom = this.config.outages.map((o) => Date.parse(o.from));
    this.outageTo = this.config.outages.map((o) => Date.parse(o.to));
    return this.config;
  }

  clear() {
    this.config = defaultFaults();
    this.rng = mulberry32(1);
    this.outageFrom = [];
    this.outageTo = [];
  }

  /** The outage in force at this clock time, if any. */
  outage(nowMs: number): OutageMode | null {
    for (let i = 0; i < this.outageFrom.length; i++) {
      if (nowMs >= this.outageFrom[i] && nowMs < this.outageTo[i]) return this.config.outages[i].mode;
    }
    return null;
  }

  /** Whether this request is one of the next N scripted 429s. */
  takeRateLimit(isCharge: boolean): boolean {
    const r = this.config.rateLimits;
    if (r.next <= 0 || (r.chargesOnly && !isCharge)) return false;
    r.next--;
    return true;
  }

  /** Draws the fault (if any) for one charge. */
  forCharge(): ChargeFault {
    const { timeouts: t, errors: e } = this.config;
    if (t.next > 0) {
      t.next--;
      return { kind: 'timeout', phase: t.phase, holdMs: t.holdMs };
    }
    if (e.next > 0) {
      e.next--;
      return { kind: 'error', phase: e.phase, status: e.status };
    }
    if (t.probability > 0 && this.rng() < t.probability) return { kind: 'timeout', phase: t.phase, holdMs: t.holdMs };
    if (e.probability > 0 && this.rng() < e.probability) return { kind: 'error', phase: e.phase, status: e.status };
    return null;
  }
}

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
