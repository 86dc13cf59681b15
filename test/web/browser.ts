import assert from 'node:assert/strict';
// Browser-test helpers: Debian's Chromium driven by playwright-core (never a downloaded browser),
// screenshots under test-results/screenshots/, and a guard that fails a test on any request that
// leaves the service under test.
import { mkdirSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_KEY, type TestService } from '../helpers/service.ts';
import { i18n } from '../../src/web/i18n/index.ts';
import { checkoutTexts } from '../../src/sandbox/checkout-page.ts';

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

/**
 * A fresh browser context (its own cookies) whose requests may only go to the service: renewd and
 * its in-process sandbox PSP (whose hosted card page stands in for the gateway's).
 */
export async function newTab(browser: Browser, t: TestService, opts: { width?: number; height?: number; locale?: string } = {}): Promise<Tab> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1100, height: opts.height ?? 900 }, locale: opts.locale ?? 'en-US' });
  const external: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(t.url) || (t.sandboxUrl && url.startsWith(t.sandboxUrl)) || url.startsWith('data:')) return route.continue();
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

/** Opens tabs on the suite's browser and service, remembered for closeBrowserSuite(). */
export function tabOpener(tabs: Tab[], suite: () => { browser: Browser; t: TestService }) {
  return async (opts?: Parameters<typeof newTab>[2]) => {
    const { browser, t } = suite();
    const x = await newTab(browser, t, opts);
    tabs.push(x);
    return x;
  };
}

/**
 * End of a browser suite: no tab sent a request off the machine or logged a script error or CSP
 * violation; then tabs, browser and service are closed even when a check fails, so the test
 * process can end.
 */
export async function closeBrowserSuite(tabs: Tab[], browser: Browser | undefined, t: TestService | undefined) {
  try {
    for (const x of tabs) {
      assert.deepEqual(x.external, [], 'no request may leave the service');
      // Pages answered 4xx on purpose (a refused form) log "Failed to load resource"; nothing else may show up.
      assert.deepEqual(x.errors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e)), [], 'no script error or CSP violation');
    }
  } finally {
    for (const x of tabs) await x.context.close().catch(() => {});
    await browser?.close();
    await t?.close();
  }
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

// Written as plain JavaScript text: evaluated in the page as is (no transpiler helpers).
const AUDIT_SCRIPT = `(() => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null; const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const blend = (top, under) => ({ r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a), b: top.b * top.a + under.b * (1 - top.a), a: 1 });
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; } }
    let bg = { r: 255, g: 255, b: 255, a: 1 };
    for (let i = layers.length - 1; i >= 0; i--) bg = blend(layers[i], bg);
    return bg;
  };
  const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el); return r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && s.display !== 'none' && !el.closest('[aria-hidden="true"], .visually-hidden, details:not([open]) > :not(summary)'); };
  const contrast = [];
  for (const el of document.querySelectorAll('body *')) {
    if (!Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    if (!visible(el) || el.closest('svg')) continue;
    const s = getComputedStyle(el);
    const fg = parse(s.color); if (!fg) continue;
    const bg = background(el);
    const L1 = lum(blend(fg, bg)), L2 = lum(bg);
    const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
    const size = parseFloat(s.fontSize); const bold = Number(s.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) contrast.push(el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).replace(/ /g, '.') : '') + ' "' + el.textContent.trim().slice(0, 40) + '" ' + ratio.toFixed(2) + ' < ' + need);
  }
  const unlabeled = [];
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea, button')) {
    const name = el.tagName === 'BUTTON' ? el.textContent.trim() : (el.labels && el.labels.length ? el.labels[0].textContent.trim() : '');
    if (!name && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) unlabeled.push(el.outerHTML.slice(0, 80));
  }
  return { contrast, unlabeled, scrollWidth: document.documentElement.scrollWidth };
})()`;

export interface Audit {
  /** Visible text below WCAG AA contrast (4.5:1; 3:1 for large text). */
  contrast: string[];
  /** Form controls and buttons without an accessible name. */
  unlabeled: string[];
  /** Width of the page (greater than the viewport: the page scrolls sideways). */
  scrollWidth: number;
}

/** Contrast, labels and width of the page as it is now. */
export async function audit(page: Page): Promise<Audit> {
  return (await page.evaluate(AUDIT_SCRIPT)) as Audit;
}

/**
 * Billing information → "Update card" → the sandbox's hosted card page (the gateway's stand-in):
 * types the card there and submits. Answers on the hosted page when the card was refused there,
 * else back on the customer's page.
 */
export async function updateCardOnHostedPage(page: Page, t: TestService, locale: string, number: string, opts: { expiry?: string; cvc?: string } = {}) {
  await page.locator('#billing').getByRole('button', { name: i18n(locale).t('billing.update') }).click();
  await page.waitForURL(`${t.sandboxUrl}/checkout/**`);
  const gw = checkoutTexts(locale).t;
  await page.getByLabel(gw.number).fill(number);
  await page.getByLabel(gw.expiry).fill(opts.expiry ?? '12 / 34');
  await page.getByLabel(gw.cvc).fill(opts.cvc ?? '123');
  await page.getByRole('button', { name: gw.save }).click();
  await page.waitForLoadState();
}

/** A no-login link of an e-mail (issue 14): /portal/links/<token>. */
export const EMAIL_LINK = /\/portal\/links\/rl_[A-Za-z0-9_-]{32}/;

/** The path of the link labelled `label` in the newest `template` e-mail of the account, as the outbox holds it (read through the API). */
export async function linkFromOutbox(t: TestService, accountId: string, template: string, label: string): Promise<string> {
  const list = (await t.api('GET', `/v1/notifications?account_id=${accountId}`)).body.data as { id: string; template: string; created_at: string }[];
  const m = list.filter((x) => x.template === template).sort((a, b) => (a.created_at < b.created_at ? 1 : -1))[0];
  assert.ok(m, `no ${template} e-mail`);
  const text: string = (await t.api('GET', `/v1/notifications/${m.id}`)).body.body_text;
  const line = text.split('\n').find((l) => l.startsWith(label));
  assert.ok(line, `no "${label}" link in the ${template} e-mail`);
  const path = EMAIL_LINK.exec(line)?.[0];
  assert.ok(path, 'a no-login link');
  return path;
}

/**
 * On the authenticate page: "Authenticate the payment" → the sandbox issuer's page (Stripe's test
 * page has the same two buttons) → Complete or Fail → back on the customer pages with the result.
 */
export async function authenticateOnIssuerPage(page: Page, t: TestService, locale: string, outcome: 'Complete' | 'Fail') {
  await page.getByRole('button', { name: i18n(locale).t('auth.button') }).click();
  await page.waitForURL((u) => u.toString().startsWith(`${t.sandboxUrl}/_sandbox/3ds/`));
  await page.getByRole('button', { name: `${outcome} authentication` }).click();
  await page.waitForURL((u) => u.toString().startsWith(`${t.url}/portal#inv-`));
  await page.locator('#flash').waitFor();
}
