// End-to-end harness: the whole service in this process (real HTTP on 127.0.0.1, real database,
// sandbox PSP over HTTP, test clock), and a small client for the API.
import { createServer, type AddressInfo } from 'node:net';
import { loadConfig, type Config } from '../../src/config.ts';
import { startService, type Service, type ServiceOptions } from '../../src/service.ts';
import { cliPlugins } from '../../src/cli/plugins.ts';
import type { RoutePlugin } from '../../src/http/server.ts';
import { createTestDatabase, type Engine } from './db.ts';
import { suiteLogger } from './suite-log.ts';
import type { LoggerOption } from '../../src/lib/log.ts';
import { contractOf, type Contract } from './contract.ts';

export const ADMIN_KEY = 'rk_test_admin_key_for_tests_only';
export const T0 = '2026-01-31T09:00:00.000Z';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestService {
  svc: Service;
  /** The test database's URL (PostgreSQL only; null for PGlite): for a CLI command run against it. */
  dbUrl: string | null;
  url: string;
  sandboxUrl: string;
  /** Calls the API; `auth` is the admin key unless a token (or null for none) is given. */
  api<T = any>(method: string, path: string, body?: unknown, auth?: string | null, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  /** Calls the sandbox PSP's own control API (/_sandbox/…). */
  sandbox<T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>>;
  advance(days: number): Promise<void>;
  advanceTo(iso: string | Date): Promise<void>;
  now(): Promise<Date>;
  close(): Promise<void>;
}

export interface TestServiceOptions {
  engine?: Engine;
  /** Another instance on this service's database (two instances, or a restart): not dropped on close. */
  sameDatabaseAs?: TestService;
  config?: Partial<Config>;
  plugins?: RoutePlugin[];
  start?: string;
  /** The service's pino logger option (default: the suite's log folder, see suite-log.ts). */
  logger?: LoggerOption;
  /**
   * Check every answer of a /v1 operation against /openapi.json (status documented, content type,
   * body schema) and fail the call on a drift (default true; see contract.ts).
   */
  contract?: boolean;
  /**
   * The in-process sandbox's options. Default: declining cards may be saved (declineOnAttach
   * false), so a test reaches grace with `later:` in one step; on Stripe (and the sandbox's
   * default) such a card is refused when saved and one that fails later is 4000000000000341 or a
   * scripted outcome (test/api/strict-sandbox.test.ts).
   */
  sandbox?: ServiceOptions['sandbox'];
}

/** A TCP port free right now on 127.0.0.1 (the OS hands out ephemeral ports in turn, so it stays free for the start). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

export async function startTestService(opts: TestServiceOptions = {}): Promise<TestService> {
  const tdb = opts.sameDatabaseAs
    ? { db: opts.sameDatabaseAs.svc.ctx.db, url: opts.sameDatabaseAs.dbUrl, drop: async () => {} }
    : await createTestDatabase(opts.engine ?? 'pglite');
  // The service's public URL is where it really listens (portal-session links, and the gateway's
  // return address after the hosted card page): a free port is picked first, unless the test names one.
  const port = opts.config?.port ?? (await freePort());
  const config: Config = {
    ...loadConfig({}),
    port,
    publicUrl: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    testClock: true,
    testClockStart: opts.start ?? T0,
    sandboxPort: 0,
    adminKey: ADMIN_KEY,
    worker: false,
    smtpUrl: undefined,
    // The sandbox's own events (Stripe webhooks) would settle attempts at a moment no test chooses;
    // the tests of gateway events turn them on (config: { sandboxEvents: true }) and deliver them.
    sandboxEvents: false,
    // The tests' webhook receivers listen on 127.0.0.1.
    webhookAllowPrivate: true,
    ...opts.config,
  };
  const svc = await startService(config, { db: tdb.db, worker: false, plugins: opts.plugins ?? (await cliPlugins()), logger: opts.logger ?? suiteLogger(), sandbox: opts.sandbox ?? { declineOnAttach: false } });
  const addr = svc.app.server.address();
  const url = typeof addr === 'object' && addr ? `http://127.0.0.1:${addr.port}` : svc.url;

  async function call(base: string, method: string, path: string, body?: unknown, auth?: string | null, headers: Record<string, string> = {}) {
    const h: Record<string, string> = { ...headers };
    if (auth !== null) h.authorization = `Bearer ${auth ?? ADMIN_KEY}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  }

  // The document as this service serves it, read on the first API call.
  let contract: Promise<Contract> | null = null;
  const contractFor = () => (contract ??= fetch(`${url}/openapi.json`).then(async (r) => contractOf(await r.json())));

  const t: TestService = {
    svc,
    dbUrl: tdb.url,
    url,
    sandboxUrl: svc.sandboxUrl!,
    async api(method, path, body, auth, headers) {
      const r = await call(url, method, path, body, auth, headers);
      if (opts.contract !== false && path.startsWith('/v1/')) {
        const drift = (await contractFor()).check(method, path, r);
        if (drift) throw new Error(`the answer disagrees with /openapi.json: ${drift}`);
      }
      return r;
    },
    sandbox: (method, path, body) => call(svc.sandboxUrl!, method, path, body, 'sk_test_renewd_sandbox'),
    async advance(days) {
      const r = await t.api('POST', '/v1/test-clock/advance', { days });
      if (r.status !== 200) throw new Error(`advance failed: ${r.status} ${JSON.stringify(r.body)}`);
    },
    async advanceTo(iso) {
      const r = await t.api('POST', '/v1/test-clock/advance', { to: new Date(iso).toISOString() });
      if (r.status !== 200) throw new Error(`advance failed: ${r.status} ${JSON.stringify(r.body)}`);
    },
    async now() {
      return new Date((await t.api('GET', '/v1/test-clock')).body.now);
    },
    async close() {
      await svc.stop();
      await tdb.drop();
    },
  };
  return t;
}

/** Plans most tests use: free, pro (EUR/USD monthly and yearly), and a JPY one. */
export async function createPlans(t: TestService) {
  const plans = [
    { id: 'free', name: 'Free', free: true, prices: [] },
    {
      id: 'pro',
      name: 'Pro',
      prices: [
        { currency: 'EUR', interval: 'month', amount: 2900 },
        { currency: 'EUR', interval: 'year', amount: 29000 },
        { currency: 'USD', interval: 'month', amount: 3200 },
        { currency: 'JPY', interval: 'month', amount: 3500 },
      ],
    },
  ];
  for (const p of plans) {
    const r = await t.api('POST', '/v1/plans', p);
    if (r.status !== 201) throw new Error(`plan ${p.id}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

export const CARDS = {
  ok: '4242424242424242',
  generic: '4000000000000002',
  insufficient_funds: '4000000000009995',
  lost: '4000000000009987',
  stolen: '4000000000009979',
  expired: '4000000000000069',
  incorrect_cvc: '4000000000000127',
  processing_error: '4000000000000119',
  incorrect_number: '4242424242424241',
  velocity: '4000000000006975',
  attach_then_fail: '4000000000000341',
  auth_unless_setup: '4000002500003155',
  auth_always: '4000002760003184',
  setup_ok: '4000003800000446',
} as const;

export function card(number: string, exp_year = 2030) {
  return { type: 'card', card: { number, exp_month: 12, exp_year, cvc: '123' } };
}

/** An account on `pro` monthly, paid with a good card, then (optionally) switched to `later`. */
export async function subscribedAccount(
  t: TestService,
  a: { locale?: string; domain_zone?: string; currency?: string; time_zone?: string; later?: string; interval?: 'month' | 'year' } = {},
) {
  const acc = await t.api('POST', '/v1/accounts', {
    name: 'Acme',
    email: 'billing@acme.example',
    locale: a.locale ?? 'fr-FR',
    domain_zone: a.domain_zone ?? 'fr',
    currency: a.currency ?? 'EUR',
    time_zone: a.time_zone ?? 'Europe/Paris',
  });
  if (acc.status !== 201) throw new Error(`account: ${acc.status} ${JSON.stringify(acc.body)}`);
  const id = acc.body.id as string;
  const pm = await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(CARDS.ok));
  if (pm.status !== 200) throw new Error(`payment method: ${pm.status} ${JSON.stringify(pm.body)}`);
  const sub = await t.api('POST', '/v1/subscriptions', { account_id: id, plan_id: 'pro', interval: a.interval ?? 'month' });
  if (sub.status !== 201) throw new Error(`subscribe: ${sub.status} ${JSON.stringify(sub.body)}`);
  if (a.later) {
    const r = await t.api('PUT', `/v1/accounts/${id}/payment-method`, card(a.later));
    if (r.status !== 200) throw new Error(`later card: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return id;
}
