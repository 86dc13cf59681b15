// No secret in a log: a representative flow (accounts, every test card typed with its own CVC
// through the API and through the customer pages, renewals and declines, Retry, help, portal tokens,
// the console signed in with the admin key, malformed requests carrying card data) with the
// service's pino logger at level 'trace' writing to a captured stream, and everything the process
// writes to stdout/stderr captured too. Then the whole capture is searched for the card numbers,
// the CVCs sent, the admin key and the portal tokens: none may appear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config.ts';
import { startService } from '../../src/service.ts';
import { cliPlugins } from '../../src/cli/plugins.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { CARDS, T0 } from '../helpers/service.ts';

const ADMIN_KEY = 'rk_admin_L0gSecretKey_do_not_print_9f3b2c';

test('the logs (level trace) and console output hold no card number, CVC, admin key or portal token', { timeout: 120_000 }, async () => {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  // Everything the process prints meanwhile, too (console.* of the engine, sender, webhooks).
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  const tap = (orig: typeof origOut) =>
    ((chunk: any, ...rest: any[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return orig(chunk, ...rest);
    }) as typeof process.stdout.write;

  const tdb = await createTestDatabase('pglite');
  const config: Config = { ...loadConfig({}), port: 0, host: '127.0.0.1', testClock: true, testClockStart: T0, sandboxPort: 0, adminKey: ADMIN_KEY, worker: false, smtpUrl: undefined, logLevel: 'trace' };
  const svc = await startService(config, { db: tdb.db, worker: false, plugins: await cliPlugins(), logger: { level: 'trace', stream } });
  const addr = svc.app.server.address();
  const url = typeof addr === 'object' && addr ? `http://127.0.0.1:${addr.port}` : svc.url;
  svc.ctx.publicUrl = url; // the hosted card page sends the browser back here (port chosen at listen)
  const api = async (method: string, path: string, body?: unknown, auth: string | null = ADMIN_KEY, raw?: { type: string; text: string }) => {
    const headers: Record<string, string> = {};
    if (auth) headers.authorization = `Bearer ${auth}`;
    if (raw) headers['content-type'] = raw.type;
    else if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url + path, { method, headers, body: raw ? raw.text : body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* a page */
    }
    return { status: res.status, body: json, headers: res.headers };
  };

  const cvcs = ['9731', '8462', '6197', '5283', '742', '863', '951', '4718', '3592', '2684', '7146', '1957', '8375', '6429'];
  const numbers = Object.values(CARDS) as string[];
  const tokens: string[] = [];
  process.stdout.write = tap(origOut);
  process.stderr.write = tap(origErr);
  try {
    assert.equal((await api('POST', '/v1/plans', { id: 'free', name: 'Free', free: true, prices: [] })).status, 201);
    assert.equal((await api('POST', '/v1/plans', { id: 'pro', name: 'Pro', prices: [{ currency: 'EUR', interval: 'month', amount: 2900 }] })).status, 201);
    const accounts: string[] = [];
    for (let i = 0; i < numbers.length; i++) {
      const acc = await api('POST', '/v1/accounts', { name: `Log ${i}`, email: `log${i}@example.com`, locale: ['en', 'fr-FR', 'de-DE', 'pl-PL'][i % 4], domain_zone: 'fr', currency: 'EUR' });
      assert.equal(acc.status, 201);
      accounts.push(acc.body.id);
      // Every test card, with its own CVC: accepted, refused on attach, or refused by Luhn.
      const pm = await api('PUT', `/v1/accounts/${acc.body.id}/payment-method`, { type: 'card', card: { number: numbers[i], exp_month: 12, exp_year: 2030, cvc: cvcs[i] } });
      assert.ok(pm.status < 500, `card ${i}: ${pm.status}`);
      if (pm.status === 200) await api('POST', '/v1/subscriptions', { account_id: acc.body.id, plan_id: 'pro', interval: 'month' });
    }
    // The good card, then a bad one for the renewal: a month of renewals, declines, e-mails.
    const main = accounts[0];
    await api('PUT', `/v1/accounts/${main}/payment-method`, { type: 'card', card: { number: CARDS.attach_then_fail, exp_month: 11, exp_year: 2031, cvc: cvcs[0] } });
    assert.equal((await api('POST', '/v1/test-clock/advance', { days: 32 })).status, 200);
    const inv = (await api('GET', `/v1/accounts/${main}/invoices`)).body.data;
    const pastDue = inv.find((x: any) => x.status === 'past_due');
    assert.ok(pastDue, 'a past-due invoice');

    // Customer: a portal session, its token on the API and on the pages.
    const ses = await api('POST', `/v1/accounts/${main}/portal-sessions`, {});
    tokens.push(ses.body.token);
    await api('GET', `/v1/accounts/${main}/invoices`, undefined, ses.body.token);
    await api('POST', `/v1/invoices/${pastDue.id}/retry`, undefined, ses.body.token);
    await api('POST', `/v1/invoices/${pastDue.id}/help-requests`, { message: `my card ${CARDS.ok} cvc ${cvcs[1]} was refused` }, ses.body.token);
    const link = await fetch(`${url}/portal?token=${encodeURIComponent(ses.body.token)}`, { redirect: 'manual' });
    const cookie = (link.headers.get('set-cookie') ?? '').split(';')[0];
    const page = await (await fetch(`${url}/portal`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    for (const [number, cvc] of [
      [CARDS.generic, cvcs[2]],
      [CARDS.incorrect_cvc, cvcs[3]],
      [`${CARDS.ok.slice(0, 4)} ${CARDS.ok.slice(4, 8)} ${CARDS.ok.slice(8, 12)} ${CARDS.ok.slice(12)}`, cvcs[4]],
      ['4000 0000 0000 0002x', cvcs[5]], // refused by the hosted page
    ]) {
      // Update card → the hosted card page (the sandbox, in this process) → back to renewd.
      const start = await fetch(`${url}/portal/billing/setup`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
        body: new URLSearchParams({ _csrf: csrf }).toString(),
        redirect: 'manual',
      });
      assert.equal(start.status, 303, 'Update card opens the hosted page');
      const hosted = await fetch(start.headers.get('location')!, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ number, expiry: '12/30', cvc }).toString(),
        redirect: 'manual',
      });
      assert.ok(hosted.status < 500, `hosted card page: ${hosted.status}`);
      if (hosted.status === 303) {
        const back = await fetch(hosted.headers.get('location')!, { headers: { cookie }, redirect: 'manual' });
        assert.ok(back.status < 500, `return from the hosted page: ${back.status}`);
      }
    }
    // A second portal session opened from a "mail client" (cross-site), then revoked.
    const ses2 = await api('POST', `/v1/accounts/${accounts[1]}/portal-sessions`, {});
    tokens.push(ses2.body.token);
    await fetch(`${url}/portal?token=${encodeURIComponent(ses2.body.token)}`, { headers: { 'sec-fetch-site': 'cross-site' } });
    await api('DELETE', `/v1/portal-sessions/${ses2.body.id}`, undefined, ses2.body.token);
    await api('GET', `/v1/accounts/${main}`, undefined, ses2.body.token); // revoked: 401

    // Operator: the console signed in with the admin key, and a wrong key.
    for (const key of [ADMIN_KEY, `${ADMIN_KEY}x`]) {
      const lp = await fetch(`${url}/console/login`);
      const lc = (lp.headers.get('set-cookie') ?? '').split(';')[0];
      const lcsrf = /name="_csrf" value="([^"]+)"/.exec(await lp.text())?.[1] ?? '';
      const r = await fetch(`${url}/console/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: lc }, body: new URLSearchParams({ _csrf: lcsrf, key }).toString(), redirect: 'manual' });
      const sc = (r.headers.get('set-cookie') ?? '').split(';')[0];
      if (r.status === 303) await fetch(`${url}/console/accounts/${main}`, { headers: { cookie: sc } });
    }
    await api('GET', '/v1/accounts', undefined, `${ADMIN_KEY}-wrong`);
    await api("GET", `/v1/accounts?token=${ADMIN_KEY}`.replace(ADMIN_KEY, "not-the-key"), undefined, null);

    // Malformed requests carrying card data: invalid JSON, wrong types, wrong content type, extra fields.
    const cardJson = `{"type":"card","card":{"number":"${CARDS.stolen}","exp_month":12,"exp_year":2030,"cvc":"${cvcs[6]}"}`;
    await api('PUT', `/v1/accounts/${main}/payment-method`, undefined, ADMIN_KEY, { type: 'application/json', text: cardJson.slice(0, -1) });
    await api('PUT', `/v1/accounts/${main}/payment-method`, undefined, ADMIN_KEY, { type: 'text/plain', text: cardJson });
    await api('PUT', `/v1/accounts/${main}/payment-method`, undefined, ADMIN_KEY, { type: 'application/x-www-form-urlencoded', text: `number=${CARDS.lost}&cvc=${cvcs[7]}` });
    await api('PUT', `/v1/accounts/${main}/payment-method`, { type: 'card', card: { number: Number(CARDS.velocity), exp_month: 12, exp_year: 2030, cvc: Number(cvcs[8]) } });
    await api('PUT', `/v1/accounts/${main}/payment-method`, { type: 'card', card: { number: CARDS.expired, exp_month: 13, exp_year: 2030, cvc: cvcs[9], pin: cvcs[10] } });
    await api('PUT', `/v1/accounts/${main}/payment-method`, { type: 'card', card: { number: `${CARDS.auth_always}abc`, exp_month: 12, exp_year: 2030, cvc: `${cvcs[11]}5` } });
    await api('PUT', `/v1/accounts/acct_unknown/payment-method`, { type: 'card', card: { number: CARDS.processing_error, exp_month: 12, exp_year: 2030, cvc: cvcs[12] } });
    await api('PUT', `/v1/accounts/${main}/payment-method`, { type: 'card', card: { number: CARDS.setup_ok, exp_month: 12, exp_year: 2030, cvc: cvcs[13] } }, null);
    // And the rest of the month: reminders, retries, the e-mails rendered and "sent".
    assert.equal((await api('POST', '/v1/test-clock/advance', { days: 15 })).status, 200);
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
    await svc.stop();
    await tdb.drop();
  }

  const log = chunks.join('');
  const lines = log.split('\n').filter(Boolean).length;
  console.log(`captured ${lines} log lines (${log.length} characters) at level trace`);
  assert.ok(lines > 100, 'the logger wrote next to nothing: is it really capturing?');
  assert.match(log, /"level":10|"level":20|"level":30/, 'no pino lines captured');
  const found: string[] = [];
  const digits = (s: string) => new RegExp(`(?<![0-9.])${s}(?![0-9])`);
  for (const n of numbers) {
    if (log.includes(n)) found.push(`card number ${n}`);
    const spaced = `${n.slice(0, 4)} ${n.slice(4, 8)} ${n.slice(8, 12)} ${n.slice(12)}`;
    if (log.includes(spaced)) found.push(`card number ${spaced}`);
  }
  for (const c of cvcs) if (digits(c).test(log)) found.push(`CVC ${c}: …${log.slice(Math.max(0, log.search(digits(c)) - 80), log.search(digits(c)) + 20)}…`);
  if (/"cvc"\s*:\s*"?\d/.test(log) || /cvc=\d/.test(log)) found.push('a cvc field with a value');
  if (log.includes(ADMIN_KEY)) found.push('the admin key');
  for (const tok of tokens) if (log.includes(tok)) found.push(`a portal token: …${log.slice(Math.max(0, log.indexOf(tok) - 120), log.indexOf(tok) + 10)}…`);
  assert.deepEqual(found, []);
});
