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

export const problemResponses = {
  400: { $ref: 'Problem#' },
  401: { $ref: 'Problem#' },
  403: { $ref: 'Problem#' },
  404: { $ref: 'Problem#' },
} as const;

export const adminSecurity: { [k: string]: string[] }[] = [{ adminKey: [] }];
export const anyoneSecurity: { [k: string]: string[] }[] = [{ adminKey: [] }, { portalToken: [] }];
