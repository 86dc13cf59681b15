// Secrets and their fingerprints, for every layer: keys and tokens are stored as SHA-256 hashes only
// (a leaked table gives no usable credential), and new secrets are 24 random bytes with a prefix
// that says what they are (rk_admin_…, ps_…).
import { createHash, randomBytes } from 'node:crypto';

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}
