// What the pages read and do beyond ctx.commands, bound to the parts that own it (help requests,
// outbox, webhooks). The pages call only these, so they stay the same functions the API calls.
import type { AppContext } from '../engine/context.ts';
import { HelpDesk, type HelpRequestStatus } from '../engine/help.ts';
import type { HelpRequest } from '../core/types.ts';
import { getNotification, listNotifications, requeueEmail, requeueKeptEmails, type NotificationDetail, type NotificationSummary } from '../notify/outbox.ts';
import { createEndpoint, listDeliveries, listEndpoints, updateEndpoint, type WebhookDelivery, type WebhookEndpoint } from '../notify/webhook-endpoints.ts';

// The pages read the same records the API answers with (one definition each, where it is made).
/** A help request as the pages list it (the operator's snapshot may be left out). */
export type HelpRequestView = Omit<HelpRequest, 'context'> & { context?: HelpRequest['context'] };
export type NotificationView = NotificationSummary;
export type WebhookEndpointView = WebhookEndpoint;
export type WebhookDeliveryView = WebhookDelivery;

export interface WebDeps {
  createHelpRequest(accountId: string, invoiceId: string, message: string): Promise<{ id: string }>;
  listHelpRequests(filter: { account_id?: string; status?: string; limit?: number }): Promise<HelpRequestView[]>;
  answerHelpRequest(id: string, answer: string): Promise<unknown>;
  closeHelpRequest(id: string): Promise<unknown>;
  listNotifications(filter: { account_id?: string; limit?: number }): Promise<NotificationView[]>;
  getNotification(id: string): Promise<NotificationDetail | null>;
  /** The API's POST /v1/notifications/{id}/requeue: a CommandError when the e-mail is missing or not kept/failed. */
  requeueNotification(id: string): Promise<NotificationDetail>;
  /** The API's POST /v1/notifications/requeue-kept: how many. */
  requeueKeptNotifications(): Promise<number>;
  /** null when the webhook part is not there. */
  webhooks: null | {
    endpoints(): Promise<WebhookEndpointView[]>;
    deliveries(filter: { endpoint_id?: string; limit?: number }): Promise<WebhookDeliveryView[]>;
    /** Registers an endpoint; the answer carries the signing secret (shown once). Bad input is a CommandError (kind `invalid`) with one error per field (`url`, `event_types`). */
    create(input: { url: string; event_types: string[]; description?: string | null }): Promise<WebhookEndpointView & { secret: string }>;
    /** Enables or disables an endpoint; null when there is none. */
    setStatus(id: string, status: 'enabled' | 'disabled'): Promise<WebhookEndpointView | null>;
  };
}

export function webDeps(ctx: AppContext): WebDeps {
  const desk = new HelpDesk(ctx.commands, `${ctx.publicUrl.replace(/\/+$/, '')}/portal`);
  return {
    createHelpRequest: (accountId, invoiceId, message) => desk.create(invoiceId, { message, requested_by: 'customer' }),
    listHelpRequests: (f) => desk.list({ status: f.status as HelpRequestStatus | undefined, account_id: f.account_id, limit: f.limit }),
    answerHelpRequest: (id, answer) => desk.answer(id, answer),
    closeHelpRequest: (id) => desk.close(id),
    listNotifications: (f) => listNotifications(ctx.db, { account_id: f.account_id, limit: f.limit }),
    getNotification: (id) => getNotification(ctx.db, id),
    requeueNotification: (id) => requeueEmail(ctx.db, id, ctx.clock.now()),
    requeueKeptNotifications: () => requeueKeptEmails(ctx.db, ctx.clock.now()),
    // The same functions as the API's /v1/webhook-endpoints routes (src/http/routes/webhooks.ts).
    webhooks: {
      endpoints: () => listEndpoints(ctx.db),
      deliveries: (f) => listDeliveries(ctx.db, f.endpoint_id ?? null, { limit: f.limit }),
      create: (input) => createEndpoint(ctx.db, { ...input, now: ctx.clock.now(), targets: ctx.webhookTargets }),
      setStatus: (id, status) => updateEndpoint(ctx.db, id, { status, now: ctx.clock.now(), targets: ctx.webhookTargets }),
    },
  };
}
