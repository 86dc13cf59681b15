// Configuration from the environment, in one place (the README's table lists the same). The whole
// environment is checked at start: a value that is not accepted stops renewd with a ConfigError that
// names every such variable and the values it takes (issue 16), never a guess or a later crash.
import path from 'node:path';

/** What a document number prefix may be: capital letters, digits, inner dashes (it is shown and filed as is). */
export const NUMBER_PREFIX_PATTERN = /^[A-Z0-9](?:[A-Z0-9-]{0,14}[A-Z0-9])?$/;

/** The seller and number series recorded on each document when it is issued (store/documents.ts IssueSettings). */
export interface DocumentSettings {
  invoicePrefix: string;
  creditNotePrefix: string;
  seller: { name: string; address: string | null; vat_id: string | null };
  /** Basis points: 2000 = 20 %. */
  taxRateBp: number;
}

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
  /**
   * The gateway was asked for (RENEWD_GATEWAY, or STRIPE_API_KEY): without it the gateway above is the
   * sandbox by default, which only `--demo` may use (`requireGateway`: production never runs on the
   * sandbox by accident).
   */
  gatewayChosen: boolean;
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
  /** STRIPE_WEBHOOK_SECRET: the endpoint secret (whsec_…) Stripe signs its events with (POST /v1/gateway-events). */
  stripeWebhookSecret: string | undefined;
  /** RENEWD_SANDBOX_EVENTS: the in-process sandbox posts Stripe-signed events to this service (default on). */
  sandboxEvents: boolean;
  /** RENEWD_TRUST_PROXY: false (default), true (any proxy), a hop count, or the proxies' addresses/CIDRs, comma-separated. */
  trustProxy: boolean | number | string;
  /** RENEWD_AUTH_FAILURES_PER_MINUTE: wrong keys/tokens per client address per minute before 429 (default 20). */
  authFailuresPerMinute: number;
  /**
   * Invoice documents (issue 23): RENEWD_INVOICE_PREFIX / RENEWD_CREDIT_NOTE_PREFIX (the number
   * series), RENEWD_SELLER_NAME / _ADDRESS / _VAT_ID and RENEWD_TAX_RATE, recorded on each document
   * when it is issued.
   */
  documents: DocumentSettings;
  /**
   * RENEWD_GATEWAY_RATE: requests per second to the gateway for the whole installation (all workers
   * together). Default: 80 with a live Stripe key, 20 with a test key (headroom under Stripe's 100
   * and 25); none (unpaced) with the sandbox unless set.
   */
  gatewayRate: number | null;
}

/** Stripe's documented limits (payments-facts.md §8): live mode 100 requests/s, test mode 25. */
export const STRIPE_LIVE_RATE_LIMIT = 100;
export const STRIPE_TEST_RATE_LIMIT = 25;

/** The gateway's documented limit for this configuration, and its name for messages. */
export function gatewayRateLimit(gateway: 'sandbox' | 'stripe', stripeApiKey: string | undefined): { limit: number; what: string } {
  if (gateway === 'stripe' && !stripeApiKey?.startsWith('sk_live_')) return { limit: STRIPE_TEST_RATE_LIMIT, what: "Stripe's test-mode limit" };
  if (gateway === 'stripe') return { limit: STRIPE_LIVE_RATE_LIMIT, what: "Stripe's live-mode limit" };
  return { limit: STRIPE_LIVE_RATE_LIMIT, what: "Stripe's live-mode limit, which the sandbox emulates" };
}

/** The whole environment checked at once: every problem named, with the values accepted. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`the configuration is not valid:\n${problems.map((p) => `  ${p}`).join('\n')}\n(every variable is described in the README, "Configuration")`);
    this.problems = problems;
    this.name = 'ConfigError';
  }
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

/**
 * Reads variables and notes every value that is not accepted, instead of failing on the first or
 * guessing (a misspelt `RENEWD_TEST_CLOCK=ture` must not read as off). Unset and empty are the default.
 */
function envReader(env: NodeJS.ProcessEnv) {
  const problems: string[] = [];
  const raw = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const refuse = (name: string, v: string, accepted: string) => problems.push(`${name}=${JSON.stringify(v)} is not accepted: ${accepted}`);
  return {
    problems,
    raw,
    refuse,
    str(name: string, dflt: string): string {
      return raw(name) ?? dflt;
    },
    bool(name: string, dflt: boolean): boolean {
      const v = raw(name);
      if (v === undefined) return dflt;
      if (TRUE.includes(v.toLowerCase())) return true;
      if (FALSE.includes(v.toLowerCase())) return false;
      refuse(name, v, `use ${TRUE.join(', ')} (on) or ${FALSE.join(', ')} (off)`);
      return dflt;
    },
    int(name: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
      const v = raw(name);
      if (v === undefined) return dflt;
      const n = /^[0-9]+$/.test(v.trim()) ? Number(v.trim()) : NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        refuse(name, v, `a whole number from ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'any size' : max}`);
        return dflt;
      }
      return n;
    },
    oneOf<T extends string>(name: string, values: readonly T[], dflt: T): T {
      const v = raw(name);
      if (v === undefined) return dflt;
      if (!(values as readonly string[]).includes(v)) {
        refuse(name, v, `one of ${values.join(', ')}`);
        return dflt;
      }
      return v as T;
    },
    url(name: string, protocols: string[]): string | undefined {
      const v = raw(name);
      if (v === undefined) return undefined;
      let u: URL | null = null;
      try {
        u = new URL(v);
      } catch {
        /* refused below */
      }
      if (!u || !protocols.includes(u.protocol)) refuse(name, redactUrl(v), `a URL starting ${protocols.map((p) => `${p}//`).join(' or ')}`);
      return v;
    },
    /** Fastify's trustProxy: on/off, `hops:N`, or the proxies' addresses and CIDRs, comma-separated. */
    trustProxy(name: string): boolean | number | string {
      const v = raw(name);
      if (v === undefined || FALSE.includes(v.toLowerCase())) return false;
      if (TRUE.includes(v.toLowerCase())) return true;
      if (/^hops:\d+$/.test(v)) return Number(v.slice(5));
      if (/^[0-9a-fA-F.:/,\s]+$/.test(v)) return v.split(',').map((x) => x.trim()).filter(Boolean).join(',');
      refuse(name, v, 'true, false, hops:N or a comma-separated list of proxy addresses/CIDRs');
      return false;
    },
    /** A document number prefix: capital letters and digits, inner dashes, 1–16 characters. */
    prefix(name: string, dflt: string): string {
      const v = raw(name);
      if (v === undefined) return dflt;
      if (!NUMBER_PREFIX_PATTERN.test(v)) {
        refuse(name, v, '1 to 16 capital letters, digits or inner dashes, e.g. INV or ACME-FR');
        return dflt;
      }
      return v;
    },
    /** A tax rate in percent with up to two decimals (0 to 100), as basis points. */
    rate(name: string): number {
      const v = raw(name);
      if (v === undefined) return 0;
      const m = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(v.trim());
      const bp = m ? Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0')) : NaN;
      if (!(bp >= 0 && bp <= 10_000)) {
        refuse(name, v, 'a percentage from 0 to 100 with at most two decimals, e.g. 20 or 8.1');
        return 0;
      }
      return bp;
    },
    time(name: string): string | undefined {
      const v = raw(name);
      if (v !== undefined && Number.isNaN(new Date(v).getTime())) refuse(name, v, 'an ISO 8601 time, e.g. 2026-01-31T09:00:00Z');
      return v;
    },
  };
}

/** A URL as it may be shown in an error: without its password. */
function redactUrl(v: string): string {
  return v.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

const PORT_MAX = 65_535;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const r = envReader(env);
  const port = r.int('PORT', 8080, 0, PORT_MAX);
  const host = r.str('HOST', '127.0.0.1');
  const stripeApiKey = r.raw('STRIPE_API_KEY');
  const gateway = r.oneOf('RENEWD_GATEWAY', ['sandbox', 'stripe'] as const, stripeApiKey ? 'stripe' : 'sandbox');
  const gatewayChosen = r.raw('RENEWD_GATEWAY') !== undefined || stripeApiKey !== undefined;
  if (gateway === 'stripe' && !stripeApiKey) r.problems.push('RENEWD_GATEWAY=stripe needs STRIPE_API_KEY (a Stripe secret key, sk_live_… or sk_test_…)');
  const operatorEmail = r.raw('RENEWD_OPERATOR_EMAIL');
  if (operatorEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(operatorEmail)) r.refuse('RENEWD_OPERATOR_EMAIL', operatorEmail, 'an e-mail address');
  const requestTimeoutMs = r.int('RENEWD_REQUEST_TIMEOUT_MS', 30_000);
  const headersTimeoutMs = r.int('RENEWD_HEADERS_TIMEOUT_MS', 10_000, 1);
  if (requestTimeoutMs > 0 && headersTimeoutMs > requestTimeoutMs)
    r.problems.push(`RENEWD_HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not exceed RENEWD_REQUEST_TIMEOUT_MS (${requestTimeoutMs}): the headers are part of the request`);
  const { limit, what } = gatewayRateLimit(gateway, stripeApiKey);
  let gatewayRate: number | null = gateway === 'stripe' ? Math.floor(limit * 0.8) : null;
  const rateText = r.raw('RENEWD_GATEWAY_RATE');
  if (rateText !== undefined) {
    const n = /^\s*[0-9]+(\.[0-9]+)?\s*$/.test(rateText) ? Number(rateText) : NaN;
    if (!(n > 0) || n > limit) r.refuse('RENEWD_GATEWAY_RATE', rateText, `requests per second for the whole installation, more than 0 and at most ${limit} (${what})`);
    else gatewayRate = n;
  }
  const config: Config = {
    port,
    host,
    publicUrl: r.url('RENEWD_PUBLIC_URL', ['http:', 'https:']) ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    dataDir: path.resolve(r.str('RENEWD_DATA_DIR', './data')),
    databaseUrl: r.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    adminKey: r.raw('RENEWD_ADMIN_KEY'),
    testClock: r.bool('RENEWD_TEST_CLOCK', false),
    testClockStart: r.time('RENEWD_TEST_CLOCK_START'),
    gateway,
    gatewayChosen,
    stripeApiKey,
    stripeApiBase: r.url('STRIPE_API_BASE', ['http:', 'https:']),
    sandboxPort: r.int('RENEWD_SANDBOX_PORT', 12111, 0, PORT_MAX),
    sandboxUrl: r.url('RENEWD_SANDBOX_URL', ['http:', 'https:']),
    smtpUrl: r.url('SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: r.str('RENEWD_MAIL_FROM', 'renewd <billing@renewd.localhost>'),
    operatorEmail,
    worker: r.bool('RENEWD_WORKER', true),
    workerIntervalMs: r.int('RENEWD_WORKER_INTERVAL_MS', 1000, 1),
    batchSize: r.int('RENEWD_BATCH_SIZE', 200, 1),
    concurrency: r.int('RENEWD_CONCURRENCY', 64, 1),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    seed: r.bool('RENEWD_SEED', true),
    webhookAllowPrivate: r.bool('RENEWD_WEBHOOK_ALLOW_PRIVATE', false),
    requestTimeoutMs,
    headersTimeoutMs,
    // Above the 60 s idle timeout of common load balancers, so they never reuse a closed connection.
    keepAliveTimeoutMs: r.int('RENEWD_KEEP_ALIVE_TIMEOUT_MS', 72_000, 1),
    maxConnections: r.int('RENEWD_MAX_CONNECTIONS', 1024),
    stripeWebhookSecret: r.raw('STRIPE_WEBHOOK_SECRET'),
    sandboxEvents: r.bool('RENEWD_SANDBOX_EVENTS', true),
    trustProxy: r.trustProxy('RENEWD_TRUST_PROXY'),
    authFailuresPerMinute: r.int('RENEWD_AUTH_FAILURES_PER_MINUTE', 20, 1),
    documents: {
      invoicePrefix: r.prefix('RENEWD_INVOICE_PREFIX', 'RNW'),
      creditNotePrefix: r.prefix('RENEWD_CREDIT_NOTE_PREFIX', 'RNC'),
      // The address on one line per part: `|` separates the lines (an environment value has one line).
      seller: {
        name: r.str('RENEWD_SELLER_NAME', 'renewd'),
        address: r.raw('RENEWD_SELLER_ADDRESS')?.split('|').map((l) => l.trim()).filter(Boolean).join('\n') || null,
        vat_id: r.raw('RENEWD_SELLER_VAT_ID') ?? null,
      },
      taxRateBp: r.rate('RENEWD_TAX_RATE'),
    },
    gatewayRate,
  };
  if (config.documents.invoicePrefix === config.documents.creditNotePrefix)
    r.problems.push(`RENEWD_INVOICE_PREFIX and RENEWD_CREDIT_NOTE_PREFIX are both ${JSON.stringify(config.documents.invoicePrefix)}: invoices and credit notes need series of their own`);
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}

/**
 * `renewd start` (not --demo) and `renewd worker` bill real customers: they run only on a gateway
 * that was asked for. The sandbox charges nothing and says every card is fine, so falling back to it
 * silently in production would "renew" subscriptions without collecting a cent (issue 16).
 */
export function requireGateway(config: Config, command: string): void {
  if (config.gatewayChosen) return;
  throw new ConfigError([
    `no payment gateway is configured for \`renewd ${command}\`: set STRIPE_API_KEY (a Stripe secret key, sk_live_… or sk_test_…) to charge through Stripe, ` +
      'or RENEWD_GATEWAY=sandbox to run on the built-in sandbox PSP (test cards, no real money); `renewd start --demo` (npm start) runs the demo on the sandbox',
  ]);
}
