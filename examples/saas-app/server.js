// A SaaS app's side of renewd, with the integration kit (client/index.js): a route gated on the
// account's access, renewd's webhooks received and verified, and a link to the customer's pages.
//
//   RENEWD_URL=http://127.0.0.1:8080 RENEWD_ADMIN_KEY=rk_… RENEWD_WEBHOOK_SECRET=whsec_… node examples/saas-app/server.js
//
// The signed-in user is stood in for by an `x-account-id` header (your app has its own sessions).
import Fastify from 'fastify';
import { createRenewdClient, createAccessCache, customerPagesUrl, verifyWebhook } from '../../client/index.js';

/** The app. `fetch`: how the kit reaches renewd (tests pass their own). */
export function buildApp({ renewdUrl, apiKey, webhookSecret, fetch }) {
  const renewd = createRenewdClient({ baseUrl: renewdUrl, apiKey, fetch });
  const access = createAccessCache(renewd, { maxAgeMs: 30_000 });
  /** Event ids already handled: renewd retries a delivery until it gets a 2xx, so an event can come twice. */
  const seen = new Set();
  const received = [];
  const app = Fastify();

  // A paid feature: open while the account is active or in grace, 402 with the way to pay otherwise.
  app.get('/reports', async (req, reply) => {
    const account = req.headers['x-account-id'];
    if (typeof account !== 'string' || !account) return reply.code(401).send({ error: 'sign in first' });
    const a = await access.access(account);
    if (!a.paid) return reply.code(402).send({ error: 'Reports are a paid feature', plan_id: a.plan_id, billing: '/billing' });
    return { account, report: 'monthly revenue', access: a.reason, until: a.until };
  });

  // "Billing" in the app's menu: straight to the customer's own pages at renewd, signed in.
  app.get('/billing', async (req, reply) => {
    const account = req.headers['x-account-id'];
    if (typeof account !== 'string' || !account) return reply.code(401).send({ error: 'sign in first' });
    return reply.redirect(await customerPagesUrl(renewd, account, { ttlMinutes: 30 }), 303);
  });

  // renewd's webhooks: checked on the raw body, deduplicated on the event id, the cache refreshed.
  app.register(async (scope) => {
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post('/webhooks/renewd', async (req, reply) => {
      if (!verifyWebhook(webhookSecret, req.headers['renewd-signature'], req.body)) return reply.code(400).send({ error: 'bad signature' });
      const event = JSON.parse(req.body.toString('utf8'));
      if (seen.has(event.id)) return reply.code(204).send();
      seen.add(event.id);
      received.push(event);
      if (event.data?.account_id) access.forget(event.data.account_id);
      return reply.code(204).send();
    });
  });
  return Object.assign(app, { received });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const app = buildApp({ renewdUrl: process.env.RENEWD_URL ?? 'http://127.0.0.1:8080', apiKey: process.env.RENEWD_ADMIN_KEY, webhookSecret: process.env.RENEWD_WEBHOOK_SECRET ?? '' });
  await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
  console.log(`example SaaS app on http://127.0.0.1:${app.server.address().port} (renewd webhooks: POST /webhooks/renewd)`);
}
