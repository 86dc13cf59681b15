// Bad input against every operation of GET /openapi.json, generated with fast-check from the
// documented schemas and examples: wrong types, missing and extra fields, huge strings, unicode,
// negative amounts, unknown currencies, dates out of range, SQL/HTML injection, invalid JSON, wrong
// content types, huge bodies, odd path and query values, various callers. Every answer must be
// below 500, the service must stay up, every 4xx must be application/problem+json, and a 4xx must
// leave the business tables exactly as they were (row counts and a hash of every row).
// FUZZ_RUNS and FUZZ_SEED override the size and the seed (the seed is printed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { world, operations, snapshot, diff, type World, type Operation } from './helpers.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1600);
const SEED = Number(process.env.FUZZ_SEED ?? 424242);

const INJECTIONS = [
  "' OR '1'='1",
  "'; DROP TABLE invoices; --",
  '1; SELECT pg_sleep(5)',
  "acct_x' UNION SELECT key_hash FROM admin_keys --",
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(document.cookie)>',
  'javascript:alert(1)',
  '{{7*7}}${7*7}<%= 7*7 %>',
  '../../../../etc/passwd',
  '%2e%2e%2f%2e%2e%2f',
  '\u0000',
  'nul\u0000byte',
  '\u202eevil\u202c',
  '🧾💳🔥',
  'Ｅｕｒｏ',
  '\ud800',
  'e\u0301\u0301\u0301',
  '$where',
  '__proto__',
  'constructor',
];
const CURRENCIES = ['XXX', 'ZZZ', 'EURO', 'eur', 'BTC', 'E', '', '€', 'US$', '123'];
const DATES = [
  '0000-00-00',
  '2026-02-30T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-01-01T25:61:61Z',
  '-271821-04-20T00:00:00Z',
  '+275760-09-13T00:00:00.001Z',
  '1969-12-31T23:59:59Z',
  '9999-12-31T23:59:59Z',
  'yesterday',
  '2026-01-01',
  '1e400',
];
const NUMBERS = [-1, -2900, -0.01, 0.5, 1e308, -1e308, 2 ** 53 + 2, 100_000_000_001, 3661, 13, 0];

const badScalar = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, '', ' ', [], {}, [[[]]], { a: { b: { c: 1 } } }),
  fc.constantFrom(...NUMBERS),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(...INJECTIONS),
  fc.constantFrom(...CURRENCIES),
  fc.constantFrom(...DATES),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.integer({ min: 256, max: 20_000 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom('a@', '@b', `${'x'.repeat(300)}@example.com`, 'xx-XX-invalid-locale', 'en_US', 'Mars/Olympus', 'UTC+25'),
  fc.array(fc.string({ maxLength: 5 }), { minLength: 200, maxLength: 1200 }),
);

type Mutation = { kind: 'delete' | 'set' | 'extra' | 'wrap'; at: number; value: unknown; key: string };

/** Every path into a JSON value (objects and arrays), for mutations. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, Array.isArray(v) ? Number(k) : k]));
  return out;
}

function mutate(example: unknown, ms: Mutation[]): unknown {
  let v: any = structuredClone(example ?? {});
  for (const m of ms) {
    const ps = paths(v);
    const p = ps[m.at % ps.length];
    if (p.length === 0) {
      if (m.kind === 'extra' && v && typeof v === 'object' && !Array.isArray(v)) v[m.key] = m.value;
      else if (m.kind === 'set' || m.kind === 'wrap') v = m.kind === 'wrap' ? [v] : m.value;
      continue;
    }
    const parent = p.slice(0, -1).reduce((o: any, k) => o?.[k], v);
    const k = p[p.length - 1];
    if (!parent || typeof parent !== 'object') continue;
    if (m.kind === 'delete') Array.isArray(parent) ? parent.splice(Number(k), 1) : delete parent[k];
    else if (m.kind === 'set') parent[k] = m.value;
    else if (m.kind === 'wrap') parent[k] = { value: parent[k] };
    else if (typeof parent[k] === 'object' && parent[k] && !Array.isArray(parent[k])) parent[k][m.key] = m.value;
    else if (!Array.isArray(parent)) parent[m.key] = m.value;
  }
  return v;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'set', 'set', 'set', 'extra', 'wrap'),
  at: fc.nat(),
  value: badScalar,
  key: fc.oneof(fc.constantFrom('extra', 'admin', 'amount', '__proto__', 'constructor', 'is_admin', 'status'), fc.string({ maxLength: 12 })),
});

/** Bodies that are not (valid) JSON, or not JSON at all, with their content type. */
const RAW_BODIES = [
    { type: 'application/json', text: '{' },
    { type: 'application/json', text: '{"a":1,}' },
    { type: 'application/json', text: "{'a':1}" },
    { type: 'application/json', text: '{"a":NaN}' },
    { type: 'application/json', text: '{"a":1} // comment' },
    { type: 'application/json', text: '\ufeff{}' },
    { type: 'application/json', text: '' },
    { type: 'application/json', text: 'null' },
    { type: 'application/json', text: '42' },
    { type: 'application/json', text: '"string"' },
    { type: 'application/json', text: '[]' },
    { type: 'application/json', text: '{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}}' },
    { type: 'application/json', text: `${'['.repeat(20_000)}${']'.repeat(20_000)}` },
    { type: 'application/json', text: `{"a":"${'x'.repeat(300 * 1024)}"}` },
    { type: 'application/json; charset=utf-16', text: '{}' },
    { type: 'application/json; charset=latin1', text: '{"name":"caf\u00e9"}' },
    { type: 'text/plain', text: '{"type":"card"}' },
    { type: 'application/x-www-form-urlencoded', text: 'type=card&card[number]=4242424242424242' },
    { type: 'multipart/form-data; boundary=x', text: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--' },
    { type: 'application/xml', text: '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>' },
    { type: 'application/merge-patch+json', text: '{}' },
    { type: '', text: '{}' },
    { type: 'application/json', text: '\u0000\u0001\u0002' },
];
const rawBody = fc.oneof(
  fc.constantFrom(...RAW_BODIES),
  fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ type: 'application/json', text })),
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ type: 'application/json', text: JSON.stringify(v) ?? 'null' })),
);

const badPathValue = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc.constantFrom('', ' ', '.', '..', 'acct_' + 'x'.repeat(70), 'x'.repeat(5000), '%', '%ZZ', '\u00e9', 'inv_\u0000', 'a/b', '?', '#'),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

interface Req {
  op: Operation;
  auth: 'admin' | 'customer' | 'none' | 'garbage';
  pathBad: string | null;
  /** Inserted into the path as is (not percent-encoded): malformed encodings. */
  rawPath?: string;
  pick: number;
  query: [string, string][];
  body: { kind: 'mutated'; ms: Mutation[] } | { kind: 'raw'; type: string; text: string } | { kind: 'example' } | { kind: 'none' };
  idemKey: string | null;
}

describe_fuzz();

function describe_fuzz() {
  let w: World;
  let ops: Operation[];
  let pools: Record<string, string[]>;
  before(async () => {
    w = await world();
    ops = await operations(w.t);
    // Spare sessions for DELETE /v1/portal-sessions/{id} to revoke (the callers' own tokens stay valid).
    const spare = [];
    for (const acct of [w.a.account, w.b.account]) spare.push((await w.t.api('POST', `/v1/accounts/${acct}/portal-sessions`, {})).body.id);
    pools = {
      accounts: [w.a.account, w.b.account, 'acct_doesnotexist'],
      invoices: [w.a.pastDue!, w.a.invoice, w.b.invoice, 'inv_doesnotexist'],
      'portal-sessions': [...spare, 'pses_doesnotexist'],
      'help-requests': [w.a.help, w.b.help, 'help_doesnotexist'],
      notifications: [w.a.notification, w.b.notification, 'ntf_doesnotexist'],
      'webhook-endpoints': [w.webhookId, 'whe_doesnotexist'],
      'dunning-policy': ['zone:fr', 'plan:pro', 'zone:de', 'plan:nope'],
    };
    // Business time stays where it is: a generated `{"to": "9999-12-31T…"}` would otherwise run
    // eight thousand years of renewals. The endpoint still validates and answers (409 when valid).
    (w.t.svc.ctx as { testClock: unknown }).testClock = null;
  });
  after(() => w?.close());

  test(`fuzz: bad input on every operation (${RUNS} generated requests + fixed cases, seed ${SEED})`, { timeout: 240_000 }, async () => {
    const db = w.t.svc.ctx.db;
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);

    const reqArb: fc.Arbitrary<Req> = fc.record({
      op: fc.constantFrom(...ops),
      auth: fc.constantFrom('admin', 'admin', 'admin', 'customer', 'customer', 'none', 'garbage'),
      pathBad: fc.option(badPathValue, { freq: 5 }),
      pick: fc.nat(),
      query: fc.array(fc.tuple(fc.constantFrom('limit', 'status', 'account_id', 'invoice_id', 'before', 'payload', 'extra', 'token'), fc.oneof(badPathValue, fc.integer().map(String))), { maxLength: 3 }),
      body: fc.oneof(
        { weight: 6, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => ({ kind: 'mutated' as const, ms })) },
        { weight: 3, arbitrary: rawBody.map((r) => ({ kind: 'raw' as const, ...r })) },
        { weight: 1, arbitrary: fc.constant({ kind: 'example' as const }) },
        { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
      ),
      idemKey: fc.option(fc.oneof(fc.constantFrom('k1', 'k1', 'x'.repeat(300), ' ', 'ключ', '\u0000'), fc.string({ maxLength: 20 })), { freq: 4 }),
    });

    // Fixed cases first: for every operation, every raw body and every content type.
    const fixed: Req[] = [];
    for (const op of ops) {
      for (const r of op.bodySchema ? RAW_BODIES : RAW_BODIES.slice(0, 3)) fixed.push({ op, auth: 'admin', pathBad: null, pick: 0, query: [], body: { kind: 'raw', ...r }, idemKey: null });
      fixed.push({ op, auth: 'customer', pathBad: null, pick: 1, query: [['extra', '1']], body: { kind: 'mutated', ms: [{ kind: 'extra', at: 0, value: 1, key: 'is_admin' }] }, idemKey: null });
      fixed.push({ op, auth: 'admin', pathBad: "' OR 1=1 --", pick: 0, query: [], body: { kind: 'example' }, idemKey: null });
      if (op.path.includes('{'))
        for (const rawPath of ['%ZZ', '%ED%A0%80', '%00', '%2e%2e%2f%2e%2e', 'a'.repeat(150), '%E2%80%AE', '%'])
          fixed.push({ op, auth: 'admin', pathBad: null, rawPath, pick: 0, query: [], body: { kind: 'example' }, idemKey: null });
    }
    const generated = fc.sample(reqArb, { numRuns: RUNS, seed: SEED });

    const tally = { requests: 0, byStatus: {} as Record<string, number>, byOp: new Map<string, number>() };
    const failures: string[] = [];
    let prev = await snapshot(db);
    for (const r of [...fixed, ...generated]) {
      const { url, init, label } = build(w, pools, r);
      let res: Response;
      let text = '';
      try {
        res = await fetch(w.t.url + url, init);
        text = await res.text();
      } catch (err) {
        failures.push(`${label}: no answer (${(err as Error).message})`);
        const health = await fetch(`${w.t.url}/health`).catch(() => null);
        if (!health || health.status !== 200) throw new Error(`the service went down after ${label}`);
        continue;
      }
      tally.requests++;
      tally.byStatus[res.status] = (tally.byStatus[res.status] ?? 0) + 1;
      tally.byOp.set(`${r.op.method} ${r.op.path}`, (tally.byOp.get(`${r.op.method} ${r.op.path}`) ?? 0) + 1);
      const cur = await snapshot(db);
      if (res.status >= 500) failures.push(`${label}: ${res.status} ${text.slice(0, 300)}`);
      else if (res.status >= 400) {
        const ct = res.headers.get('content-type') ?? '';
        let body: any = null;
        try {
          body = JSON.parse(text);
        } catch {
          /* reported below */
        }
        if (!ct.startsWith('application/problem+json') || body?.status !== res.status || !String(body?.type).startsWith('urn:renewd:problem:'))
          failures.push(`${label}: ${res.status} ${ct} is not problem+json: ${text.slice(0, 200)}`);
        let changed = diff(prev, cur);
        // A purchase the bank declined (reachable since a customer can cancel, issue 15) is a fact
        // that is kept: its void invoice, its declined attempt and their events; the account stays
        // where it was (only its auto-renew preset is written; the machine voids the purchase).
        if (res.status === 402 && body?.code === 'payment_failed' && r.op.method === 'POST' && r.op.path === '/v1/subscriptions')
          changed = changed.filter((x) => !['subscriptions', 'invoices', 'payment_attempts', 'events'].includes(x));
        if (changed.length) failures.push(`${label}: ${res.status} ${body?.code} changed ${changed.join(', ')}`);
      }
      prev = cur;
      if (failures.length > 30) break;
    }
    process.removeListener('unhandledRejection', onUnhandled);
    const health = await fetch(`${w.t.url}/health`);
    const statuses = Object.entries(tally.byStatus).map(([k, v]) => `${k}×${v}`).join(' ');
    console.log(`fuzz: ${tally.requests} requests tried on ${tally.byOp.size} operations (seed ${SEED}); answers ${statuses}`);
    assert.equal(health.status, 200, 'the service is down');
    assert.deepEqual(unhandled.map(String), [], 'unhandled rejections');
    assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
    assert.equal(tally.byOp.size, ops.length, 'every operation was tried');
    assert.ok((tally.byStatus[413] ?? 0) > 0, 'a body over the limit answers 413 payload_too_large');
  });
}

/** Percent-encodes anything, lone surrogates included (as the invalid UTF-8 bytes ED A0 80). */
function enc(v: string): string {
  try {
    return encodeURIComponent(v);
  } catch {
    return [...v].map((ch) => (/[\ud800-\udfff]/.test(ch) ? '%ED%A0%80' : encodeURIComponent(ch))).join('');
  }
}

function build(w: World, pools: Record<string, string[]>, r: Req): { url: string; init: RequestInit; label: string } {
  const seg = r.op.path.split('/')[2];
  const pool = pools[seg] ?? ['x'];
  const value = r.pathBad ?? pool[r.pick % pool.length];
  let url = r.op.path.replace(/\{[^}]+\}/g, r.rawPath ?? enc(value));
  if (r.query.length) url += '?' + r.query.map(([k, v]) => `${k}=${enc(v)}`).join('&');
  const headers: Record<string, string> = {};
  if (r.auth === 'admin') headers.authorization = `Bearer ${w.admin}`;
  else if (r.auth === 'customer') headers.authorization = `Bearer ${w.a.token}`;
  else if (r.auth === 'garbage') headers.authorization = 'Bearer \u00ff\u00fe' as string;
  if (r.idemKey !== null) {
    // Header values must be latin-1 for fetch; others are sent percent-encoded.
    headers['idempotency-key'] = /^[\x20-\x7e]*$/.test(r.idemKey) ? r.idemKey || 'k' : enc(r.idemKey);
  }
  let body: string | undefined;
  const b = r.body;
  // Ids of this world in the examples, so valid-looking bodies reach real accounts.
  const example = r.op.body === undefined ? undefined : JSON.parse(JSON.stringify(r.op.body).replace(/acct_…/g, w.a.account));
  if (b.kind === 'raw') {
    if (b.type) headers['content-type'] = b.type;
    body = b.text;
  } else if (b.kind === 'mutated' || b.kind === 'example') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(b.kind === 'mutated' ? mutate(example ?? {}, b.ms) : (example ?? {})) ?? 'null';
  }
  if (r.op.method === 'GET' && body !== undefined) {
    // fetch refuses a GET body; send it anyway as a POST-less probe of the same URL? No: keep GET bare.
    body = undefined;
    delete headers['content-type'];
  }
  if (headers.authorization === 'Bearer \u00ff\u00fe') headers.authorization = 'Bearer %FF%FE';
  const label = `${r.op.method} ${url.slice(0, 120)} [${r.auth}${b.kind === 'raw' ? `, ${b.type || 'no type'}` : `, ${b.kind}`}] ${body ? body.slice(0, 160) : ''}`;
  return { url, init: { method: r.op.method, headers, body }, label };
}
