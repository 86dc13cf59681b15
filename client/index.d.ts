// Types of renewd's integration kit (client/index.js); the API's own types are generated in schema.d.ts.
import type { Client } from 'openapi-fetch';
import type { paths } from './schema.d.ts';

export type { paths };
export type RenewdClient = Client<paths>;
/** The answer of GET /v1/accounts/{id}/access. */
export type Access = paths['/v1/accounts/{id}/access']['get']['responses'][200]['content']['application/json'];

export function createRenewdClient(options: { baseUrl: string; apiKey: string; fetch?: typeof fetch }): RenewdClient;

export function verifyWebhook(secret: string, header: string | null | undefined, rawBody: string | Buffer, options?: { toleranceSec?: number; now?: number | Date }): boolean;

export interface AccessCache {
  access(accountId: string): Promise<Access>;
  forget(accountId: string): void;
}
export function createAccessCache(client: RenewdClient, options?: { maxAgeMs?: number; now?: () => number }): AccessCache;

export function customerPagesUrl(client: RenewdClient, accountId: string, options?: { ttlMinutes?: number }): Promise<string>;
