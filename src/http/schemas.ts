// Shared JSON-schema pieces. Every body is closed (additionalProperties: false): an unknown field
// is a mistake the caller wants to hear about, not something to drop silently. Enum lists come from
// the part that owns the values (core, notify), never copied here.
import { INTERVALS } from '../core/types.ts';

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
