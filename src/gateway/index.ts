// Gateway adapters and the factory that builds one from configuration.
import { createStripeGateway } from './stripe.ts';
import type { Gateway } from './types.ts';

export { createStripeGateway, IDEMPOTENCY_METADATA_KEY, type StripeGatewayOptions } from './stripe.ts';
export { GatewayError, type GatewayErrorCode } from './errors.ts';
export * from './types.ts';

export interface GatewayConfig {
  /** sk_live_… / sk_test_… for Stripe; any sk_test_… key for the sandbox. */
  stripeApiKey: string | undefined;
  /** Base URL of the API: unset = api.stripe.com; e.g. http://127.0.0.1:12111 for the sandbox. */
  stripeApiBase?: string | undefined;
  timeoutMs?: number;
}

export function createGatewayFromConfig(cfg: GatewayConfig): Gateway {
  if (!cfg.stripeApiKey) throw new Error('STRIPE_API_KEY is required for the Stripe gateway');
  if (!cfg.stripeApiBase) return createStripeGateway({ apiKey: cfg.stripeApiKey, ...(cfg.timeoutMs ? { timeoutMs: cfg.timeoutMs } : {}) });
  const u = new URL(cfg.stripeApiBase);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`stripeApiBase must be an http(s) URL, got ${cfg.stripeApiBase}`);
  const protocol = u.protocol === 'https:' ? 'https' : 'http';
  return createStripeGateway({
    apiKey: cfg.stripeApiKey,
    host: u.hostname,
    port: Number(u.port || (protocol === 'https' ? 443 : 80)),
    protocol,
    ...(cfg.timeoutMs ? { timeoutMs: cfg.timeoutMs } : {}),
  });
}
