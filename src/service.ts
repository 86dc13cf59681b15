// Wires the parts into a running service: database (PGlite or PostgreSQL), clock, gateway
// (sandbox PSP or Stripe), engine, mail sender, webhook deliverer, HTTP server.
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { openDb, type Db } from './store/db.ts';
import { migrate } from './store/migrate.ts';
import { loadTestClock, saveTestClock, type TestClock } from './engine/clock.ts';
import { Engine } from './engine/engine.ts';
import { Commands } from './engine/commands.ts';
import type { Runner } from './engine/advance.ts';
import type { Gateway } from './gateway/types.ts';
import { createStripeGateway } from './gateway/stripe.ts';
import { createSandbox, type SandboxOptions } from './sandbox/server.ts';
import { createPace } from './engine/pace.ts';
import { createMailSender } from './notify/sender.ts';
import { createWebhookDeliverer } from './notify/webhook-delivery.ts';
import { fanOutEvents } from './notify/fan-out.ts';
import { buildServer, type RoutePlugin } from './http/server.ts';
import { forgetAdminKeys } from './http/auth.ts';
import { ensureAdminKeys } from './engine/admin-keys.ts';
import { randomBytes } from 'node:crypto';
import { createLogger, type LoggerOption } from './lib/log.ts';
import type { AppContext } from './engine/context.ts';

import { SANDBOX_API_KEY } from './sandbox/server.ts';
export { SANDBOX_API_KEY };

export interface Service {
  ctx: AppContext;
  app: FastifyInstance;
  url: string;
  sandboxUrl: string | null;
  /** The in-process sandbox PSP, when this service started one (tests drive its events and pages). */
  sandbox: ReturnType<typeof createSandbox> | null;
  /** The admin key generated at this start (printed once), if one was generated. */
  generatedAdminKey: string | null;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** Extra route plugins (pages, console…). */
  plugins?: RoutePlugin[];
  /** Use this database instead of opening one from the config (tests). */
  db?: Db;
  /** Start the polling worker (default: config.worker). */
  worker?: boolean;
  /** Listen on HTTP (default true). */
  listen?: boolean;
  logger?: LoggerOption;
  /** Options of the in-process sandbox PSP (tests: fixtures with a declining card already on file). */
  sandbox?: Pick<SandboxOptions, 'declineOnAttach' | 'rateLimit'>;
}

export async function startService(config: Config, opts: ServiceOptions = {}): Promise<Service> {
  const db = opts.db ?? (await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: config.concurrency > 10 ? 20 : 10 }));
  await migrate(db);
  // The environment's key (a new value revokes the previous one), or a key generated at first
  // start: settled before anything else starts, so a refused key leaves nothing running.
  const keys = await ensureAdminKeys(db, config.adminKey).catch(async (err) => {
    if (!opts.db) await db.close();
    throw err;
  });
  const generatedAdminKey = keys.generated;
  if (keys.revoked.length) forgetAdminKeys(db);

  let testClock: TestClock | null = null;
  let clock: Clock = systemClock;
  if (config.testClock) {
    testClock = await loadTestClock(db, config.testClockStart ? new Date(config.testClockStart) : new Date());
    await saveTestClock(db, testClock);
    clock = testClock;
  }

  // One rate at the gateway for every worker of the installation, kept in PostgreSQL (issue 19).
  const pace = config.gatewayRate ? createPace({ db, gateway: config.gateway, rate: config.gatewayRate }) : null;
  await pace?.start();

  let sandbox: Awaited<ReturnType<typeof createSandbox>> | null = null;
  let sandboxUrl: string | null = null;
  let gateway: Gateway;
  if (config.gateway === 'sandbox') {
    if (config.sandboxUrl) sandboxUrl = config.sandboxUrl;
    else {
      // The sandbox PSP runs in this process on its own port, on the same clock as the engine.
      sandbox = createSandbox({ clock, ...opts.sandbox });
      sandboxUrl = await sandbox.listen(config.sandboxPort, '127.0.0.1');
    }
    const u = new URL(sandboxUrl);
    gateway = createStripeGateway({ apiKey: SANDBOX_API_KEY, host: u.hostname, port: Number(u.port), protocol: 'http', ...(pace ? { pace } : {}) });
  } else {
    const base = config.stripeApiBase ? new URL(config.stripeApiBase) : null;
    gateway = createStripeGateway({
      ...(pace ? { pace } : {}),
      apiKey: config.stripeApiKey!,
      ...(base ? { host: base.hostname, port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)), protocol: base.protocol.replace(':', '') as 'http' | 'https' } : {}),
    });
  }

  const portalUrl = `${config.publicUrl}/portal`;
  // The background loops log through pino as the HTTP server does, on the same option.
  const logger = createLogger(opts.logger);
  if (keys.revoked.length) logger.info({ revoked: keys.revoked }, 'RENEWD_ADMIN_KEY changed: the previous environment key is revoked');
  // Said at every start, in the log as in the banner: a sandbox "charges" nothing (issue 16).
  if (config.gateway === 'sandbox') logger.warn({ gateway: 'sandbox', sandbox_url: sandboxUrl }, 'gateway: the sandbox PSP (test cards, no real money moves) — for demos, development and tests only');
  else logger.info({ gateway: 'stripe' }, 'gateway: Stripe');
  // Paced, a worker claims no more than about five seconds of the billing pace at a time, so a
  // claimed renewal is charged well within its lease and the day spreads evenly across workers.
  const batchSize = pace ? Math.min(config.batchSize, Math.max(1, Math.ceil(pace.rates.billing * 5))) : config.batchSize;
  const engine = new Engine({ db, gateway, clock, batchSize, concurrency: config.concurrency, portalUrl, publicUrl: config.publicUrl, logger, documents: config.documents, operatorEmail: config.operatorEmail });
  const commands = new Commands(db, engine);
  const mail = createMailSender({ db, clock, smtpUrl: config.smtpUrl, from: config.mailFrom, logger });
  const webhookTargets = { allowPrivate: config.webhookAllowPrivate };
  const webhooks = createWebhookDeliverer({ db, clock, operatorEmail: config.operatorEmail, logger, targets: webhookTargets });
  const drainUntilIdle = async (runOnce: () => Promise<unknown>) => {
    for (let i = 0; i < 1000; i++) {
      const r = (await runOnce()) as Record<string, number> | undefined;
      const n = r ? Object.values(r).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0) : 0;
      if (n === 0) return;
    }
  };
  const runners: Runner[] = [
    engine,
    { drain: () => drainUntilIdle(() => mail.runOnce()) },
    { drain: async () => { await fanOutEvents(db, clock.now()); await drainUntilIdle(() => webhooks.runOnce()); } },
  ];
  // The in-process sandbox's gateway events are delivered before the test clock moves on, as a
  // Stripe test clock delivers each advance's events: posted later, their signature (made on the
  // clock) would be checked against a clock already days ahead and refused as stale (the demo's
  // 50 days of history were answered 21 × 400 invalid_signature).
  if (sandbox) {
    const s = sandbox;
    runners.push({ drain: () => s.flushEvents() });
  }


  // Gateway events (/v1/gateway-events): the Stripe endpoint's secret; the in-process sandbox gets
  // one made here and posts its events (signed the way Stripe signs them) to this service.
  const gatewayEventSecret = config.stripeWebhookSecret ?? (sandbox && config.sandboxEvents !== false ? `whsec_${randomBytes(24).toString('base64url')}` : null);
  const ctx: AppContext = { db, clock, engine, commands, testClock, runners, publicUrl: config.publicUrl, operatorEmail: config.operatorEmail, gatewayKind: config.gateway, sandboxUrl, gatewayEventSecret, webhookTargets };
  const app = await buildServer(ctx, {
    logger: opts.logger ?? false,
    trustProxy: config.trustProxy,
    authFailuresPerMinute: config.authFailuresPerMinute,
    plugins: opts.plugins,
    limits: { requestTimeoutMs: config.requestTimeoutMs, headersTimeoutMs: config.headersTimeoutMs, keepAliveTimeoutMs: config.keepAliveTimeoutMs, maxConnections: config.maxConnections },
  });
  let url = config.publicUrl;
  if (opts.listen !== false) {
    url = await app.listen({ port: config.port, host: config.host });
    // Started on any free port (tests): the address the customer's browser comes back to is the real one.
    if (ephemeral(config)) engine.authenticationReturnUrl = `${url}/portal/authenticate/return`;
  }
  if (sandbox && gatewayEventSecret && opts.listen !== false) {
    const base = ephemeral(config) ? url : config.publicUrl;
    sandbox.setWebhook({ url: `${base}/v1/gateway-events`, secret: gatewayEventSecret });
  }

  const background = opts.worker ?? config.worker;
  if (background) {
    engine.start(config.workerIntervalMs);
    // Only a process configured to deliver touches the outbox (issue 16).
    if (config.smtpUrl) mail.start(2000);
    webhooks.start(2000);
  }

  return {
    ctx,
    app,
    url,
    sandboxUrl,
    sandbox,
    generatedAdminKey,
    async stop() {
      await Promise.all([mail.stop(), webhooks.stop(), engine.stop()]);
      await app.close();
      if (sandbox) await sandbox.close();
      if (!opts.db) await db.close();
    },
  };
}

/** Listening on any free port on this machine (tests): the public URL cannot name the port, the listener's address does. */
function ephemeral(config: Config) {
  return config.port === 0 && ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(config.publicUrl).hostname);
}
