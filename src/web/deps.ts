// What the pages read and do beyond ctx.commands, bound to the parts that own it (help requests,
// outbox, webhooks). The pages call only these, so they stay the same functions the API calls.
import type { AppContext } from '../engine/context.ts';
import { HelpDesk, type HelpRequestStatus } from '../engine/help.ts';
import { getNotification, listNotifications } from '../notify/outbox.ts';
import { createEndpoint, listDeliveries, listEndpoints, updateEndpoint } from '../notify/webhook-endpoints.ts';

export interface HelpRequestView {
  id: string;
  account_id: string;
  invoice_id: string;
  message: string;
  status: 'open' | 'answered' | 'closed' | string;
  answer: string | null;
  created_at: Date | string;
  answered_at: Date | string | null;
  closed_at: Date | string | null;
  context?: unknown;
}

export interface NotificationView {
  id: string;
  account_id: string | null;
  template: string;
  to: string;
  subject: string;
  locale: string;
  status: string;
  created_at: Date | string;
  sent_at?: Date | string | null;
  body_text?: string;
}

export interface WebhookEndpointView {
  id: string;
  url: string;
  description?: string | null;
  event_types: string[];
  status: string;
  consecutive_failures?: number;
  failing_since?: Date | string | null;
  disabled_reason?: string | null;
  created_at: Date | string;
}

export interface WebhookDeliveryView {
  id: string;
  endpoint_id: string;
  event_type: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date | string;
  delivered_at: Date | string | null;
  event_id?: string;
  next_attempt_at?: Date | string | null;
  attempt_log?: { attempt: number; attempted_at: Date | string; status_code: number | null; error: string | null; duration_ms: number }[];
}

export interface WebDeps {
  createHelpRequest(accountId: string, invoiceId: string, message: string): Promise<{ id: string }>;
  listHelpRequests(filter: { account_id?: string; status?: string; limit?: number }): Promise<HelpRequestView[]>;
  answerHelpRequest(id: string, answer: string): Promise<unknown>;
  closeHelpRequest(id: string): Promise<unknown>;
  listNotifications(filter: { account_id?: string; limit?: number }): Promise<NotificationView[]>;
  getNotification(id: string): Promise<(NotificationView & { body_text: string }) | null>;
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
    // The same functions as the API's /v1/webhook-endpoints routes (src/http/routes/webhooks.ts).
    webhooks: {
      endpoints: () => listEndpoints(ctx.db),
      deliveries: (f) => listDeliveries(ctx.db, f.endpoint_id ?? null, { limit: f.limit }),
      create: (input) => createEndpoint(ctx.db, { ...input, now: ctx.clock.now() }),
      setStatus: (id, status) => updateEndpoint(ctx.db, id, { status, now: ctx.clock.now() }),
    },
  };
}
