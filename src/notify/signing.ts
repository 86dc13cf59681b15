// Webhook signatures. Header `Renewd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
// the key being the endpoint's whole secret string (whsec_…). verifySignature() is what a receiver
// runs (src/notify/README-webhooks.md shows it without this package).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Renewd-Signature';
export const EVENT_ID_HEADER = 'Renewd-Event-Id';

/** Hex HMAC-SHA256 of "<t>.<body>" keyed with the secret. */
export function signPayload(secret: string, body: string | Buffer, t: number): string {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
}

/** The Renewd-Signature header value for a body signed at unix second t. */
export function signatureHeader(secret: string, body: string | Buffer, t: number): string {
  return `t=${t},v1=${signPayload(secret, body, t)}`;
}

/**
 * True when `header` (Renewd-Signature) signs exactly `body` (the raw request body, before any
 * JSON parsing) with `secret`, at a time within toleranceSec of `now` (replay protection).
 */
export function verifySignature(secret: string, header: string | null | undefined, body: string | Buffer, now: Date | number = Date.now(), toleranceSec = 300): boolean {
  if (!header || typeof header !== 'string') return false;
  let t: number | null = null;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (k === 't' && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/i.test(v)) candidates.push(v.toLowerCase());
  }
  if (t === null || candidates.length === 0) return false;
  const nowSec = Math.floor((now instanceof Date ? now.getTime() : now) / 1000);
  if (Math.abs(nowSec - t) > toleranceSec) return false;
  const expected = Buffer.from(signPayload(secret, body, t), 'hex');
  // Several v1 values may be present (e.g. while a secret is being rotated): any match is enough.
  return candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
}
