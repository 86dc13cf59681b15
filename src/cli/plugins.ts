// The route plugins a full `renewd start` serves besides the core API.
import type { RoutePlugin } from '../http/server.ts';
import { notificationRoutes } from '../http/routes/notifications.ts';
import { webhookRoutes } from '../http/routes/webhooks.ts';
import { webRoutes } from '../web/routes.ts';

export async function cliPlugins(): Promise<RoutePlugin[]> {
  return [notificationRoutes, webhookRoutes, webRoutes];
}
