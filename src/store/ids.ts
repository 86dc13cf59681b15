import { randomBytes } from 'node:crypto';

/** Prefixed random ids (acct_…, sub_…, inv_…): 16 url-safe characters of randomness. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}
