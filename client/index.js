// renewd's integration kit for a SaaS app (Node.js 20+, no build step): a typed API client made
// from renewd's OpenAPI document (openapi-fetch over the generated client/schema.d.ts), webhook
// signature checks, an access check with a short cache, and the link to a customer's pages.
// Types: client/index.d.ts. Example: examples/saas-app.
import createClient from 'openapi-fetch';
import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The API client. `apiKey`: an admin key (`renewd keys create`) for the calls a backend makes.
 * Every path, parameter, body and answer is typed from the document (see client/schema.d.ts).
 */
export function createRenewdClient({ baseUrl, apiKey, fetch: fetchImpl }) {
  if (!baseUrl) throw new TypeError('createRenewdClient: baseUrl is required (where renewd listens, e.g. http://127.0.0.1:8080)');
  if (!apiKey) throw new TypeError('createRenewdClient: apiKey is required (an admin key: renewd keys create --name …)');
  return createClient({ baseUrl: baseUrl.replace(/\/+$/, ''), headers: { authorization: `Bearer ${apiKey}` }, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
}

/**
 * True when `header` (the Renewd-Signature header) signs exactly `rawBody` (the request body as
 * received, before JSON parsing) with `secret`, at a time within `toleranceSec` of `now`.
 */
export function verifyWebhook(secret, header, rawBody, { toleranceSec = 300, now = Date.now() } = {}) {
  let t = NaN;
  const signatures = [];
  for (const part of String(header ?? '').split(',')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const key = part.slice(0, i).trim();
    const value = part.slice(i + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (!Number.isInteger(t) || signatures.length === 0) return false;
  const nowMs = now instanceof Date ? now.getTime() : now;
  if (Math.abs(nowMs / 1000 - t) > toleranceSec) return false;
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  return signatures.some((s) => s.length === expected.length && timingSafeEqual(s, expected));
}

/**
 * Whether an account has paid features, asked of renewd at most once per `maxAgeMs` (default 30 s)
 * per account, and never kept past the answer's own `until` (the end of the paid period or of grace:
 * after it the answer may change). A renewd webhook for the account should call `forget(id)`.
 */
export function createAccessCache(client, { maxAgeMs = 30_000, now = () => Date.now() } = {}) {
  const cache = new Map();
  return {
    async access(accountId) {
      const hit = cache.get(accountId);
      if (hit && hit.expires > now()) return hit.value;
      const { data, error, response } = await client.GET('/v1/accounts/{id}/access', { params: { path: { id: accountId } } });
      if (error) throw Object.assign(new Error(`renewd: access of ${accountId}: ${response.status} ${error.title ?? ''} ${error.detail ?? ''}`.trim()), { status: response.status, problem: error });
      const until = data.until ? Date.parse(data.until) : Infinity;
      cache.set(accountId, { value: data, expires: Math.min(now() + maxAgeMs, until) });
      return data;
    },
    forget(accountId) {
      cache.delete(accountId);
    },
  };
}

/**
 * The address of the customer's own pages (card, purchase history, Retry, help), signed in for
 * `ttlMinutes`: redirect the signed-in user of your app there.
 */
export async function customerPagesUrl(client, accountId, { ttlMinutes } = {}) {
  const { data, error, response } = await client.POST('/v1/accounts/{id}/portal-sessions', { params: { path: { id: accountId } }, body: ttlMinutes ? { ttl_minutes: ttlMinutes } : {} });
  if (error) throw Object.assign(new Error(`renewd: customer pages of ${accountId}: ${response.status} ${error.title ?? ''} ${error.detail ?? ''}`.trim()), { status: response.status, problem: error });
  return data.url;
}
