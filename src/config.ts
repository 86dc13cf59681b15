// Configuration from the environment, in one place (the README's table lists the same).
import path from 'node:path';

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  databaseUrl: string | undefined;
  adminKey: string | undefined;
  testClock: boolean;
  testClockStart: string | undefined;
  gateway: 'sandbox' | 'stripe';
  stripeApiKey: string | undefined;
  stripeApiBase: string | undefined;
  sandboxPort: number;
  /** Use a sandbox already running there instead of starting one (e.g. for extra workers). */
  sandboxUrl: string | undefined;
  smtpUrl: string | undefined;
  mailFrom: string;
  operatorEmail: string | undefined;
  worker: boolean;
  workerIntervalMs: number;
  batchSize: number;
  concurrency: number;
  logLevel: string;
  seed: boolean;
  /** Let webhooks reach loopback, private and link-local addresses (development and tests only). */
  webhookAllowPrivate: boolean;
  /** Slow clients (issue 16): the whole request must arrive within this (0: no limit). */
  requestTimeoutMs: number;
  /** …its headers within this (at most requestTimeoutMs). */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections open at once; more are closed at once. */
  maxConnections: number;
}

const bool = (v: string | undefined, dflt: boolean) => (v === undefined || v === '' ? dflt : ['1', 'true', 'yes', 'on'].includes(v.toLowerCase()));
const int = (v: string | undefined, dflt: number) => {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got "${v}"`);
  return n;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = int(env.PORT, 8080);
  const host = env.HOST ?? '127.0.0.1';
  const gateway = (env.RENEWD_GATEWAY ?? (env.STRIPE_API_KEY ? 'stripe' : 'sandbox')) as Config['gateway'];
  if (gateway !== 'sandbox' && gateway !== 'stripe') throw new Error(`RENEWD_GATEWAY must be sandbox or stripe, got "${gateway}"`);
  if (gateway === 'stripe' && !env.STRIPE_API_KEY) throw new Error('RENEWD_GATEWAY=stripe needs STRIPE_API_KEY');
  return {
    port,
    host,
    publicUrl: env.RENEWD_PUBLIC_URL ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    dataDir: path.resolve(env.RENEWD_DATA_DIR ?? './data'),
    databaseUrl: env.DATABASE_URL || undefined,
    adminKey: env.RENEWD_ADMIN_KEY || undefined,
    testClock: bool(env.RENEWD_TEST_CLOCK, false),
    testClockStart: env.RENEWD_TEST_CLOCK_START || undefined,
    gateway,
    stripeApiKey: env.STRIPE_API_KEY,
    stripeApiBase: env.STRIPE_API_BASE,
    sandboxPort: int(env.RENEWD_SANDBOX_PORT, 12111),
    sandboxUrl: env.RENEWD_SANDBOX_URL || undefined,
    smtpUrl: env.SMTP_URL || undefined,
    mailFrom: env.RENEWD_MAIL_FROM ?? 'renewd <billing@renewd.localhost>',
    operatorEmail: env.RENEWD_OPERATOR_EMAIL || undefined,
    worker: bool(env.RENEWD_WORKER, true),
    workerIntervalMs: int(env.RENEWD_WORKER_INTERVAL_MS, 1000),
    batchSize: int(env.RENEWD_BATCH_SIZE, 200),
    concurrency: int(env.RENEWD_CONCURRENCY, 64),
    logLevel: env.LOG_LEVEL ?? 'info',
    seed: bool(env.RENEWD_SEED, true),
    webhookAllowPrivate: bool(env.RENEWD_WEBHOOK_ALLOW_PRIVATE, false),
    requestTimeoutMs: int(env.RENEWD_REQUEST_TIMEOUT_MS, 30_000),
    headersTimeoutMs: int(env.RENEWD_HEADERS_TIMEOUT_MS, 10_000),
    // Above the 60 s idle timeout of common load balancers, so they never reuse a closed connection.
    keepAliveTimeoutMs: int(env.RENEWD_KEEP_ALIVE_TIMEOUT_MS, 72_000),
    maxConnections: int(env.RENEWD_MAX_CONNECTIONS, 1024),
  };
}
