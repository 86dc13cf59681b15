import { randomBytes } from 'node:crypto';

// Randomness is drawn in blocks (like crypto.randomUUID does): a billing day makes several ids per
// renewal, and one call into the CSPRNG per id costs more than the id itself.
const BLOCK = 12 * 256;
let pool = Buffer.alloc(0);
let offset = BLOCK;

/** Prefixed random ids (acct_…, sub_…, inv_…): 16 url-safe characters of randomness. */
export function newId(prefix: string): string {
  if (offset + 12 > pool.length) {
    pool = randomBytes(BLOCK);
    offset = 0;
  }
  const s = pool.toString('base64url', offset, offset + 12);
  offset += 12;
  return `${prefix}_${s}`;
}
