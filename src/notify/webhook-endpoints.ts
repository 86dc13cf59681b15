// The operator's webhook endpoints: register a URL for some event types (the secret that signs its
// deliveries is shown only then), change, enable / disable, delete; and the rules a URL and an
// event-type list must follow. A broken rule is a CommandError of kind invalid naming the field.
import { invalidFields } from '../core/errors.ts';
import { newSecret } from '../lib/crypto.ts';
import { AddressRefusedError, checkUrlHost, type AddressPolicy } from '../lib/public-address.ts';
import type { Queryable } from '../store/db.ts';
import { newId } from '../store/ids.ts';
import { insertEndpoint, updateEndpointRow, type EndpointStatus, type WebhookEndpoint } from '../store/webhooks.ts';
import { EVENT_TYPE_PATTERN } from './events.ts';

export { deleteEndpoint, getEndpoint, listDeliveries, listEndpoints } from '../store/webhooks.ts';
export type { DeliveryAttempt, DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint, WebhookPayload } from '../store/webhooks.ts';
export { DELIVERY_STATUSES, ENDPOINT_STATUSES } from '../store/webhooks.ts';

/** Only at creation: the secret, needed to verify signatures, is not shown again. */
export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  secret: string;
}

const EVENT_TYPE_RE = new RegExp(EVENT_TYPE_PATTERN);

/** The refusal of one field; the message (detail) keeps its "field: " prefix. */
function invalid(field: string, message: string) {
  return invalidFields('validation_error', `${field}: ${message}`, [{ field, message }]);
}

/** Webhooks go to public addresses unless the installation allows private ones (development). */
export const PUBLIC_ONLY: AddressPolicy = { allowPrivate: false };

async function checkUrl(url: string, targets: AddressPolicy): Promise<string> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid('url', `"${url}" is not a valid URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid('url', 'only http and https URLs can receive webhooks');
  try {
    await checkUrlHost(u, targets);
  } catch (err) {
    if (!(err instanceof AddressRefusedError)) throw err;
    throw invalid('url', `${err.message}: webhooks are sent to public addresses only (RENEWD_WEBHOOK_ALLOW_PRIVATE=1 allows private ones, for development)`);
  }
  return u.toString();
}

function checkEventTypes(types: string[]): string[] {
  if (!Array.isArray(types) || types.length === 0) throw invalid('event_types', "give at least one event type, or '*' for all");
  for (const t of types) if (typeof t !== 'string' || !EVENT_TYPE_RE.test(t)) throw invalid('event_types', `"${t}" is not an event type (e.g. invoice.paid, invoice.*, *)`);
  return [...new Set(types)].sort();
}

export async function createEndpoint(
  q: Queryable,
  input: { url: string; event_types: string[]; description?: string | null; now: Date; targets?: AddressPolicy },
): Promise<CreatedWebhookEndpoint> {
  const url = await checkUrl(input.url, input.targets ?? PUBLIC_ONLY);
  const types = checkEventTypes(input.event_types);
  const secret = newSecret('whsec');
  const ep = await insertEndpoint(q, { id: newId('we'), url, secret, event_types: types, description: input.description ?? null, now: input.now });
  return { ...ep, secret };
}

/**
 * Changes the URL, the event types, the description or the status. Enabling an endpoint clears its
 * failure record; its deliveries still pending resume (those overdue at once). Null when there is
 * no such endpoint.
 */
export async function updateEndpoint(
  q: Queryable,
  id: string,
  input: { url?: string; event_types?: string[]; description?: string | null; status?: EndpointStatus; now: Date; targets?: AddressPolicy },
): Promise<WebhookEndpoint | null> {
  const url = input.url !== undefined ? await checkUrl(input.url, input.targets ?? PUBLIC_ONLY) : null;
  const types = input.event_types !== undefined ? checkEventTypes(input.event_types) : null;
  if (input.status !== undefined && input.status !== 'enabled' && input.status !== 'disabled') throw invalid('status', 'enabled or disabled');
  return updateEndpointRow(q, id, {
    url,
    event_types: types,
    setDescription: input.description !== undefined,
    description: input.description ?? null,
    status: input.status ?? null,
    now: input.now,
  });
}
