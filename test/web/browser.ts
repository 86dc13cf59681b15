// Browser-test helpers: Debian's Chromium driven by playwright-core (never a downloaded browser),
// screenshots under test-results/screenshots/, and a guard that fails a test on any request that
// leaves the service under test.
import { mkdirSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_KEY, type TestService } from '../helpers/service.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = 'test-results/screenshots';

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export interface Tab {
  context: BrowserContext;
  page: Page;
  /** Requests that went anywhere but the service under test (must stay empty). */
  external: string[];
  /** Console errors and CSP violations reported by the page. */
  errors: string[];
}

/** A fresh browser context (its own cookies) whose requests may only go to the service. */
export async function newTab(browser: Browser, t: TestService, opts: { width?: number; height?: number; locale?: string } = {}): Promise<Tab> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1100, height: opts.height ?? 900 }, locale: opts.locale ?? 'en-US' });
  const external: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(t.url) || url.startsWith('data:')) return route.continue();
    external.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, external, errors };
}

export async function screenshot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}

/** A portal-session token for the account: through the API, or (if that endpoint is missing) a row of our own. */
export async function portalToken(t: TestService, accountId: string): Promise<string> {
  const r = await t.api('POST', `/v1/accounts/${accountId}/portal-sessions`);
  if (r.status === 201 || r.status === 200) return r.body.token as string;
  if (r.status !== 404 || r.body?.code !== 'not_found' || !String(r.body?.detail ?? '').startsWith('no route')) throw new Error(`portal session: ${r.status} ${JSON.stringify(r.body)}`);
  const token = `ps_test_${randomBytes(18).toString('base64url')}`;
  const now = await t.now();
  await t.svc.ctx.db.query('INSERT INTO portal_sessions (id, token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [
    `pses_${randomBytes(8).toString('hex')}`,
    createHash('sha256').update(token).digest('hex'),
    accountId,
    now,
    new Date(now.getTime() + 3_600_000),
  ]);
  return token;
}

/** Opens the customer's Subscription page from a portal-session link. */
export async function openPortal(tab: Tab, t: TestService, accountId: string) {
  const token = await portalToken(t, accountId);
  await tab.page.goto(`${t.url}/portal?token=${encodeURIComponent(token)}`);
  if (new URL(tab.page.url()).search !== '') throw new Error(`the token stayed in the address bar: ${tab.page.url()}`);
}

/** Signs in to the console with the admin key. */
export async function signInConsole(tab: Tab, t: TestService) {
  await tab.page.goto(`${t.url}/console`);
  await tab.page.getByLabel('Admin key').fill(ADMIN_KEY);
  await tab.page.getByRole('button', { name: 'Sign in' }).click();
  await tab.page.waitForURL(`${t.url}/console`);
}
