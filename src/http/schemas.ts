// Shared JSON-schema pieces. Every body is closed (additionalProperties: false): an unknown field
// is a mistake the caller wants to hear about, not something to drop silently. Enum lists come from
// the part that owns the values (core, notify), never copied here.
import { INTERVALS } from '../core/types.ts';
import { CommandError } from '../core/errors.ts';

export const idParam = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } },
  required: ['id'],
} as const;

export const currency = { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, upper case', example: 'EUR' } as const;
export const interval = { type: 'string', enum: INTERVALS } as const;
export const amount = { type: 'integer', minimum: 0, maximum: 100_000_000_000, description: 'integer minor units (cents for EUR, yen for JPY)' } as const;
export const dateTime = { type: 'string', format: 'date-time' } as const;
export const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;

/**
 * What every route may answer as a problem. The statuses that depend on what the route is (403 on
 * operator routes, 404/414 with path parameters, 413/415 with a body, 429, 500) are added to the
 * document in one place (server.ts documentDefaults); a route lists its own refusals (409, 402…).
 */
export const problemResponses = {
  400: { $ref: 'Problem#' },
  401: { $ref: 'Problem#' },
} as const;
export const notFoundResponse = { 404: { $ref: 'Problem#' } } as const;

export const adminSecurity: { [k: string]: string[] }[] = [{ adminKey: [] }];
export const anyoneSecurity: { [k: string]: string[] }[] = [{ adminKey: [] }, { portalToken: [] }];

/**
 * GET → PUT/PATCH round trip (issue 17): the members of an answer that a write takes back and
 * ignores (marked readOnly in the document), so a client that reads, edits and writes sends the
 * answer as it got it. `writable` are the body's own members, left out here.
 */
export function readOnlyMembers<P extends Record<string, object>, W extends string>(answer: P, writable: readonly W[]) {
  const out: Record<string, object> = {};
  for (const [k, v] of Object.entries(answer)) if (!(writable as readonly string[]).includes(k)) out[k] = { ...v, readOnly: true };
  return out as { [K in Exclude<keyof P, W>]: P[K] & { readOnly: true } };
}

/** Whether a body carries read-only members (it is an answer sent back), and the body without them. */
export function splitReadOnly<B extends Record<string, unknown>>(body: B, readOnly: object): { roundTrip: boolean; writable: Partial<B> } {
  const writable: Record<string, unknown> = {};
  let roundTrip = false;
  for (const [k, v] of Object.entries(body)) {
    if (k in readOnly) roundTrip = true;
    else writable[k] = v;
  }
  return { roundTrip, writable: writable as Partial<B> };
}

// ---- Lists (issue 17): every list answers `{data, has_more}` and pages the same way: `limit`
// (1–1000, default 100) and `starting_after` (the id of the last item of the previous page), in
// the list's own order. The store is asked for one row more than the page, which says has_more.
export const LIST_LIMIT_DEFAULT = 100;
export const LIST_LIMIT_MAX = 1000;

export const pageQuery = {
  limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: `how many items at most (1–${LIST_LIMIT_MAX}, default ${LIST_LIMIT_DEFAULT})`, example: '100' },
  starting_after: {
    ...idParam.properties.id,
    description: 'a cursor: the id of the last item of the previous page; this page starts after it (an id not in the list: an empty page)',
  },
} as const;

/** The answer of a list of `items`. */
export function listOut<I extends object>(items: I) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['data', 'has_more'],
    properties: {
      data: { type: 'array', items },
      has_more: { type: 'boolean', description: 'more items follow this page: ask again with starting_after = the id of its last item' },
    },
  } as const;
}

/** The page size asked for; 400 outside 1–1000. */
export function pageLimit(limit: string | undefined): number {
  const n = limit === undefined ? LIST_LIMIT_DEFAULT : Number(limit);
  if (!Number.isInteger(n) || n < 1 || n > LIST_LIMIT_MAX)
    throw new CommandError('invalid', 'validation_error', `limit must be between 1 and ${LIST_LIMIT_MAX}`, { errors: [{ field: 'querystring/limit', message: `1–${LIST_LIMIT_MAX}` }] });
  return n;
}

/** A page from rows fetched with `limit + 1`. */
export function pageOf<T>(rows: T[], limit: number): { data: T[]; has_more: boolean } {
  return { data: rows.slice(0, limit), has_more: rows.length > limit };
}

/** A page of a short list held whole (plans, keys, endpoints, an account's invoices or sessions). */
export function pageIn<T extends { id: string }>(all: T[], q: { limit?: string; starting_after?: string }): { data: T[]; has_more: boolean } {
  const limit = pageLimit(q.limit);
  if (q.starting_after === undefined) return pageOf(all, limit);
  const i = all.findIndex((x) => x.id === q.starting_after);
  return i < 0 ? { data: [], has_more: false } : pageOf(all.slice(i + 1), limit);
}

// ---- Cards (the main card and the backup card take and show the same members) ----
/** What an answer shows of a saved card (never its number). */
export const savedCardMembers = {
  type: { type: 'string' },
  brand: { type: ['string', 'null'] },
  last4: { type: ['string', 'null'] },
  exp_month: { type: ['integer', 'null'] },
  exp_year: { type: ['integer', 'null'] },
} as const;

/** How a request names a new card: raw `card` fields (sandbox gateway only) or a gateway `token`. */
export const newCardMembers = {
  type: { type: 'string', enum: ['card'] },
  card: {
    type: 'object',
    additionalProperties: false,
    required: ['number', 'exp_month', 'exp_year'],
    properties: {
      number: { type: 'string', pattern: '^[0-9 ]{12,23}$' },
      exp_month: { type: 'integer', minimum: 1, maximum: 12 },
      exp_year: { type: 'integer', minimum: 2000, maximum: 2100 },
      cvc: { type: 'string', pattern: '^[0-9]{3,4}$' },
    },
  },
  token: { type: 'string', minLength: 1, maxLength: 255, description: 'a payment method id from the gateway client-side form (real gateway)' },
} as const;
