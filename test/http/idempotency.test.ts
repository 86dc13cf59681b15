// Idempotency-Key (src/http/idempotency.ts) rule by rule, on a tiny Fastify app with test routes
// instead of the whole service (test/api/idempotency.test.ts states it end to end): the canonical
// body and its fingerprint, the keyed request hash, which routes take part, the header's checks,
// the first answer kept and replayed, 422 for another request, 409 while in progress, the edges of
// the in-progress and replay windows, what is not kept, a failed keep, and the sweep.
import { test, describe, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import Fastify, { type FastifyInstance, type LightMyRequestResponse, type RouteOptions } from 'fastify';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import type { Db, Queryable } from '../../src/store/db.ts';
import type { Clock } from '../../src/core/clock.ts';
import { problem, problemSchema, sendProblem } from '../../src/http/problem.ts';
import {
  CARD_MARKER,
  IDEMPOTENCY_HEADER,
  IDEMPOTENCY_TTL_MS,
  IN_PROGRESS_STALE_MS,
  REPLAYED_HEADER,
  canonicalJson,
  fingerprintBody,
  idempotencyHeaderSchema,
  installIdempotency,
  refusedHeaderSchema,
  requestHash,
  sweepIdempotentRequests,
} from '../../src/http/idempotency.ts';
import { claimIdempotencyKey, keepIdempotentAnswer } from '../../src/store/idempotency.ts';
import { manualClock } from '../notify/helpers.ts';

const T0 = Date.parse('2026-06-01T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 3_600_000;
const INVALID_KEY = 'Idempotency-Key must be one header of 1 to 255 visible ASCII characters';
const IN_PROGRESS_DETAIL = 'a request with this Idempotency-Key is still being processed; try again shortly';
const REUSED_DETAIL = 'this Idempotency-Key was already used with a different request; use a new key for a new request';
const JSON_TYPE = 'application/json; charset=utf-8';
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';
const REFUSED_WHY = 'it shows a secret once';

/** A replay of an answer without a body: the status, the replay header, no body and no content type. */
function assertReplayedEmpty(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number) {
  assert.equal(res.statusCode, status);
  assert.equal(res.headers['idempotent-replayed'], 'true');
  assert.equal(res.body, '');
  assert.equal(res.headers['content-type'], undefined);
}

/** A Db whose queries go through `hook` first (to fail or fake one statement). */
function through(db: Db, hook: (sql: string, params: unknown[] | undefined, real: () => Promise<unknown[]>) => Promise<unknown[]>): Db {
  return {
    kind: db.kind,
    query: <T,>(sql: string, params?: unknown[]) => hook(sql, params, () => db.query(sql, params)) as Promise<T[]>,
    tx: <T,>(fn: (q: Queryable) => Promise<T>) => db.tx(fn),
    close: () => db.close(),
  };
}

interface TestApp {
  app: FastifyInstance;
  /** How many times each route's handler ran. */
  runs: Record<string, number>;
  /** Each route as the onRoute hooks left it (after installIdempotency's). */
  routes: Map<string, RouteOptions>;
  logs: Record<string, any>[];
  order: string[];
}

async function build(db: Db, clock: Clock): Promise<TestApp> {
  const logs: Record<string, any>[] = [];
  const app = Fastify({
    logger: { level: 'error', stream: { write: (s: string) => void logs.push(JSON.parse(s)) } },
    // As the service's: `example` is an OpenAPI annotation the validator knows.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, keywords: ['example'] } },
  });
  app.addSchema(problemSchema);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    const as = req.headers['x-test-as'];
    req.principal =
      as === 'admin' ? { kind: 'admin', key_id: 'key_1' } : typeof as === 'string' && as.startsWith('account:') ? { kind: 'customer', account_id: as.slice('account:'.length), session_id: 'ps_1' } : null;
    // Node joins a repeated header into one string; a raw array is what the type allows too.
    if (req.headers['x-test-repeat']) req.headers[IDEMPOTENCY_HEADER] = ['k-1', 'k-2'] as unknown as string;
  });
  installIdempotency(app, { db, clock });
  const routes = new Map<string, RouteOptions>();
  app.addHook('onRoute', (r) => void routes.set(`${[r.method].flat().join(',')} ${r.url}`, r));
  const runs: Record<string, number> = {};
  const ran = (name: string) => (runs[name] = (runs[name] ?? 0) + 1);
  const order: string[] = [];

  app.post('/v1/things', async (req, reply) => reply.code(201).send({ n: ran('things'), got: req.body ?? null }));
  // What the handler sees of its claim (undefined would mean the request property is not declared).
  const claimOf = (req: { idempotency: unknown }) => ({ claim: req.idempotency === undefined ? 'undefined' : req.idempotency });
  app.post('/v1/claim', async (req, reply) => reply.code(201).send(claimOf(req)));
  app.get('/v1/claim', async (req) => claimOf(req));
  app.post('/v1/things/:id', async (req, reply) => reply.code(201).send({ n: ran('thing') }));
  app.post('/v1/empty', async (_req, reply) => {
    ran('empty');
    return reply.code(204).send();
  });
  app.post('/v1/blank', async (_req, reply) => {
    ran('blank');
    return reply.code(200).type('text/plain').send('');
  });
  app.post('/v1/text', async (_req, reply) => reply.code(200).type('text/plain').send(`plain ${ran('text')}`));
  app.post('/v1/bad', async (_req, reply) => sendProblem(reply, problem(400, 'validation_error', `bad ${ran('bad')}`)));
  app.post('/v1/missing', async (_req, reply) => sendProblem(reply, problem(404, 'not_found', `missing ${ran('missing')}`)));
  app.post('/v1/boom', async () => {
    ran('boom');
    throw new Error('boom');
  });
  app.post('/v1/unavailable', async (_req, reply) => sendProblem(reply, problem(503, 'gateway_unavailable', `down ${ran('unavailable')}`)));
  app.post('/v1/slow-down', async (_req, reply) => sendProblem(reply, problem(429, 'rate_limited', `wait ${ran('slow-down')}`)));
  app.put('/v1/things/:id', async (_req, reply) => reply.code(200).send({ n: ran('put') }));
  app.delete('/v1/things/:id', async (_req, reply) => reply.code(200).send({ n: ran('delete') }));
  app.get('/v1/things', async () => ({ n: ran('get') }));
  app.head('/v1/head-only', async (_req, reply) => {
    ran('head-only');
    return reply.code(200).send();
  });
  app.route({ method: ['GET'], url: '/v1/get-array', handler: async () => ({ n: ran('get-array') }) });
  app.route({ method: ['GET', 'HEAD'], url: '/v1/get-head', handler: async () => ({ n: ran('get-head') }) });
  app.route({ method: ['GET', 'POST'], url: '/v1/mixed', handler: async (req) => ({ n: ran(`mixed ${req.method}`) }) });
  app.get('/v1/with-opt-in', { config: { idempotent: true } }, async () => ({ n: ran('with-opt-in') }));
  app.post('/v1/opted-out', { config: { idempotent: false } }, async (_req, reply) => reply.code(201).send({ n: ran('opted-out') }));
  app.post('/v1/refused', { config: { idempotent: { refused: REFUSED_WHY } } }, async (_req, reply) => reply.code(201).send({ n: ran('refused') }));
  app.post('/not-v1', async (_req, reply) => reply.code(201).send({ n: ran('not-v1') }));
  app.post('/v1', async (_req, reply) => reply.code(201).send({ n: ran('v1-bare') }));
  app.post('/v1x/things', async (_req, reply) => reply.code(201).send({ n: ran('v1x') }));
  app.post('/not-v1/opt-in', { config: { idempotent: true } }, async (_req, reply) => reply.code(201).send({ n: ran('not-v1 opt-in') }));
  app.get('/not-v1/opt-in', { config: { idempotent: true } }, async () => ({ n: ran('not-v1 get opt-in') }));
  app.get('/not-v1/opted-out', { config: { idempotent: false } }, async () => ({ n: ran('not-v1 get opted-out') }));

  // Routes with their own preHandlers: a single one, and a list.
  const deny = async (req: any, reply: any) => {
    order.push('own');
    if (req.headers['x-deny']) return sendProblem(reply, problem(403, 'forbidden', 'denied'));
  };
  app.post('/v1/guarded', { preHandler: deny }, async (_req, reply) => reply.code(201).send({ n: ran('guarded') }));
  app.post('/v1/guarded-list', { preHandler: [deny, async () => void order.push('own 2')] }, async (_req, reply) => reply.code(201).send({ n: ran('guarded-list') }));
  app.post('/v1/refused-guarded', { preHandler: deny, config: { idempotent: { refused: REFUSED_WHY } } }, async (_req, reply) => reply.code(201).send({ n: ran('refused-guarded') }));
  app.post('/v1/refused-guarded-list', { preHandler: [deny], config: { idempotent: { refused: REFUSED_WHY } } }, async (_req, reply) => reply.code(201).send({ n: ran('refused-guarded-list') }));

  // Routes with schemas: none of their own headers or responses, and both.
  const ownHeaders = { type: 'object', properties: { 'x-own': { type: 'string' } }, required: ['x-own'] };
  const ownResponse = { 201: { type: 'object', properties: { n: { type: 'integer' } } } };
  app.post('/v1/schema-bare', { schema: { body: { type: 'object' } } }, async (_req, reply) => reply.code(201).send({ n: ran('schema-bare') }));
  app.post('/v1/schema-own', { schema: { headers: ownHeaders, response: ownResponse } }, async (_req, reply) => reply.code(201).send({ n: ran('schema-own') }));
  app.post('/v1/refused-schema-bare', { schema: { body: { type: 'object' } }, config: { idempotent: { refused: REFUSED_WHY } } }, async (_req, reply) =>
    reply.code(201).send({ n: ran('refused-schema-bare') }),
  );
  app.post('/v1/refused-schema-own', { schema: { headers: ownHeaders }, config: { idempotent: { refused: REFUSED_WHY } } }, async (_req, reply) =>
    reply.code(201).send({ n: ran('refused-schema-own') }),
  );
  await app.ready();
  return { app, runs, routes, logs, order };
}

type Who = 'admin' | `account:${string}` | 'none';
function send(t: TestApp, method: string, url: string, opts: { key?: string; as?: Who; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { 'x-test-as': opts.as ?? 'admin', ...opts.headers };
  if (opts.key !== undefined) headers[IDEMPOTENCY_HEADER] = opts.key;
  return t.app.inject({ method: method as 'POST', url, headers, ...(opts.body === undefined ? {} : { payload: opts.body as object }) });
}

function assertProblem(res: LightMyRequestResponse, status: number, code: string, detail: string, extra: Record<string, unknown> = {}) {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['content-type'], PROBLEM_TYPE);
  assert.deepEqual(res.json(), problem(status, code, detail, extra));
}

function assertReplayed(res: LightMyRequestResponse, first: LightMyRequestResponse) {
  assert.equal(res.statusCode, first.statusCode);
  assert.equal(res.headers[REPLAYED_HEADER.toLowerCase()], 'true');
  assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)));
  // The kept body is JSON (jsonb: its keys may come back in another order).
  assert.deepEqual(res.body === '' ? '' : res.json(), first.body === '' ? '' : first.json());
}

async function rows(db: Queryable, scope?: string) {
  const r = await db.query<{ scope: string; key: string; request_hash: string; status_code: number; body: unknown; created_at: Date }>(
    `SELECT scope, key, request_hash, status_code, body, created_at FROM idempotent_requests ${scope ? 'WHERE scope = $1' : ''} ORDER BY scope, key`,
    scope ? [scope] : [],
  );
  return r.map((x) => ({ ...x, created_at: new Date(x.created_at).toISOString() }));
}

/** The hash of POST /v1/things {a: 1} on the PGlite database (another installation than the PostgreSQL one). */
let pgliteHash: string | undefined;

const secretOf = async (db: Queryable) => (await db.query<{ value: string }>(`SELECT value FROM settings WHERE key = 'idempotency_hash_secret'`))[0]?.value;

describe('canonicalJson', () => {
  test('keys sorted at every level, arrays kept in order, nested arrays of objects: exact output', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: [{ q: 2, p: 1 }] }], c: null } }), '{"a":{"c":null,"d":[3,{"y":[{"p":1,"q":2}],"z":1}]},"b":1}');
    assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
    assert.equal(canonicalJson([3, 1, 2]), '[3,1,2]');
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
    assert.equal(canonicalJson([]), '[]');
    assert.equal(canonicalJson({}), '{}');
    assert.equal(canonicalJson([[{ b: 1, a: 2 }], []]), '[[{"a":2,"b":1}],[]]');
  });

  test('undefined fields are dropped at every level; undefined in an array is null', () => {
    assert.equal(canonicalJson({ a: undefined, b: 1, c: { d: undefined, e: null } }), '{"b":1,"c":{"e":null}}');
    assert.equal(canonicalJson({ a: undefined }), '{}');
    assert.equal(canonicalJson([1, undefined]), '[1,null]');
  });

  test('null, undefined and primitives as JSON; keys escaped as JSON strings', () => {
    assert.equal(canonicalJson(null), 'null');
    assert.equal(canonicalJson(undefined), 'null');
    assert.equal(canonicalJson(0), '0');
    assert.equal(canonicalJson(false), 'false');
    assert.equal(canonicalJson(''), '""');
    assert.equal(canonicalJson('x"y'), '"x\\"y"');
    assert.equal(canonicalJson(1.5), '1.5');
    assert.equal(canonicalJson({ 'a"b': 'c' }), '{"a\\"b":"c"}');
  });
});

describe('fingerprintBody', () => {
  test('a top-level card (even null) is replaced by the marker, the rest kept', () => {
    assert.equal(CARD_MARKER, '[card data: not fingerprinted]');
    assert.deepEqual(fingerprintBody({ type: 'card', card: { number: '4242424242424242', cvc: '123' } }), { type: 'card', card: '[card data: not fingerprinted]' });
    assert.deepEqual(fingerprintBody({ card: null }), { card: CARD_MARKER });
    assert.deepEqual(fingerprintBody({ card: '4242' }), { card: CARD_MARKER });
  });

  test('a card field that is undefined, or none, leaves the body as it is (the same object)', () => {
    const undef = { type: 'card', card: undefined };
    assert.equal(fingerprintBody(undef), undef);
    assert.ok('card' in (fingerprintBody(undef) as object));
    const none = { type: 'token', token: 'pm_1' };
    assert.equal(fingerprintBody(none), none);
    assert.deepEqual(Object.keys(fingerprintBody(none) as object), ['type', 'token']);
  });

  test('a nested card is not replaced; arrays (even with a card property) and non-objects are unchanged', () => {
    const nested = { payment: { card: { number: '4242' } } };
    assert.equal(fingerprintBody(nested), nested);
    assert.deepEqual(fingerprintBody(nested), { payment: { card: { number: '4242' } } });
    const list = Object.assign([{ card: 1 }], { card: 'x' });
    assert.equal(fingerprintBody(list), list);
    for (const v of [null, undefined, 'card', 7, true]) assert.equal(fingerprintBody(v), v);
  });
});

describe('Idempotency-Key on a test app (PGlite)', () => {
  let tdb: TestDb;
  let db: Db;
  const clock = manualClock(new Date(T0));
  let t: TestApp;
  let n = 0;
  /** A key no other test uses. */
  const fresh = (name = 'k') => `${name}-${++n}`;

  before(async () => {
    tdb = await createTestDatabase('pglite');
    db = tdb.db;
    t = await build(db, clock);
  });
  after(async () => {
    await t?.app.close();
    await tdb?.drop();
  });

  describe('requestHash', () => {
    test('an HMAC-SHA256 of method, URL and the canonical fingerprinted body, keyed by the secret in settings (created once, 32 random bytes)', async () => {
      const h = await requestHash(db, 'POST', '/v1/things', { b: 2, a: 1 });
      pgliteHash = await requestHash(db, 'POST', '/v1/things', { a: 1 });
      const secret = await secretOf(db);
      assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(h, createHmac('sha256', secret).update('POST\n/v1/things\n{"a":1,"b":2}').digest('hex'));
      assert.equal(await requestHash(db, 'PUT', '/v1/x', undefined), createHmac('sha256', secret).update('PUT\n/v1/x\nnull').digest('hex'));
      assert.equal(
        await requestHash(db, 'PUT', '/v1/pm', { type: 'card', card: { number: '4242424242424242' } }),
        createHmac('sha256', secret).update('PUT\n/v1/pm\n{"card":"[card data: not fingerprinted]","type":"card"}').digest('hex'),
      );
      // Another handle on the same database (not cached) reads the same secret: it is created once.
      const other = through(db, (_sql, _p, real) => real());
      assert.equal(await requestHash(other, 'POST', '/v1/things', { a: 1, b: 2 }), h);
      assert.equal(await secretOf(db), secret);
      assert.equal((await db.query(`SELECT 1 FROM settings WHERE key = 'idempotency_hash_secret'`)).length, 1);
    });

    test('same for the same method, URL and canonical body; differs by method, URL and body; a card number change does not change it', async () => {
      const h = await requestHash(db, 'POST', '/v1/things', { a: 1, b: [1, 2] });
      assert.equal(await requestHash(db, 'POST', '/v1/things', { b: [1, 2], a: 1 }), h);
      assert.notEqual(await requestHash(db, 'PUT', '/v1/things', { a: 1, b: [1, 2] }), h);
      assert.notEqual(await requestHash(db, 'POST', '/v1/things/1', { a: 1, b: [1, 2] }), h);
      assert.notEqual(await requestHash(db, 'POST', '/v1/things', { a: 1, b: [2, 1] }), h);
      const card = await requestHash(db, 'PUT', '/v1/pm', { type: 'card', card: { number: '4242424242424242' } });
      assert.equal(await requestHash(db, 'PUT', '/v1/pm', { type: 'card', card: { number: '5555555555554444' } }), card);
      assert.notEqual(await requestHash(db, 'PUT', '/v1/pm', { type: 'card' }), card);
    });

    test('the secret is looked up once per database handle, then kept in memory', async () => {
      let lookups = 0;
      const counted = through(db, (sql, _p, real) => {
        if (sql.includes('idempotency_hash_secret')) lookups++;
        return real();
      });
      const h = await requestHash(counted, 'POST', '/v1/things', {});
      assert.equal(lookups, 2); // created if missing (INSERT … ON CONFLICT DO NOTHING), then read
      assert.equal(await requestHash(counted, 'POST', '/v1/things', {}), h);
      await Promise.all([requestHash(counted, 'PUT', '/v1/x', {}), requestHash(counted, 'PUT', '/v1/y', {})]);
      assert.equal(lookups, 2);
    });

    test('a failed secret look-up is not remembered: the next hash reads it again', async () => {
      let fail = true;
      const flaky = through(db, (sql, _p, real) => {
        if (fail && sql.includes('idempotency_hash_secret')) {
          fail = false;
          return Promise.reject(new Error('settings unavailable'));
        }
        return real();
      });
      await assert.rejects(requestHash(flaky, 'POST', '/v1/things', {}), /settings unavailable/);
      assert.equal(await requestHash(flaky, 'POST', '/v1/things', {}), await requestHash(db, 'POST', '/v1/things', {}));
    });
  });

  describe('the header', () => {
    test('no header: nothing kept, the route runs each time', async () => {
      const before = (await rows(db)).length;
      const a = await send(t, 'POST', '/v1/things', { body: { x: 1 } });
      const b = await send(t, 'POST', '/v1/things', { body: { x: 1 } });
      assert.equal(a.statusCode, 201);
      assert.equal(b.json().n, a.json().n + 1);
      assert.equal(b.headers['idempotent-replayed'], undefined);
      assert.equal((await rows(db)).length, before);
    });

    test('a key that is not 1 to 255 visible ASCII characters, or repeated, is 400 validation_error and nothing runs', async () => {
      const runs = t.runs.things;
      for (const key of ['', ' ', 'a b', ' ab', 'ab ', 'é', 'ab\u007f', 'x'.repeat(256)]) {
        assertProblem(await send(t, 'POST', '/v1/things', { key }), 400, 'validation_error', INVALID_KEY);
      }
      assertProblem(await send(t, 'POST', '/v1/things', { headers: { 'x-test-repeat': '1' } }), 400, 'validation_error', INVALID_KEY);
      assert.equal(t.runs.things, runs);
    });

    test('1 to 255 visible ASCII characters are taken, from ! to ~', async () => {
      for (const key of ['!', '~', `!${fresh()}~`, 'x'.repeat(254) + '1', 'x'.repeat(255)]) {
        const res = await send(t, 'POST', '/v1/things', { key });
        assert.equal(res.statusCode, 201, key);
        assert.equal(res.headers['idempotent-replayed'], undefined);
      }
      assert.equal((await rows(db, 'admin POST /v1/things')).filter((r) => r.key === 'x'.repeat(255)).length, 1);
    });

    test('not authenticated: no claim, the route runs each time (its own check answers)', async () => {
      const key = fresh('anon');
      const a = await send(t, 'POST', '/v1/things', { key, as: 'none' });
      const b = await send(t, 'POST', '/v1/things', { key, as: 'none' });
      assert.equal(b.json().n, a.json().n + 1);
      assert.equal(b.headers['idempotent-replayed'], undefined);
      assert.deepEqual((await rows(db)).filter((r) => r.key === key), []);
    });
  });

  describe('kept and replayed', () => {
    test('the first request runs once and its answer is kept under caller + method + route pattern, at the clock time', async () => {
      clock.set(new Date(T0 + 5 * HOUR + 123));
      const key = fresh();
      const first = await send(t, 'POST', '/v1/things', { key, body: { b: 2, a: 1 } });
      assert.equal(first.statusCode, 201);
      assert.equal(first.headers['idempotent-replayed'], undefined);
      const kept = (await rows(db)).filter((r) => r.key === key);
      assert.deepEqual(kept, [
        {
          scope: 'admin POST /v1/things',
          key,
          request_hash: await requestHash(db, 'POST', '/v1/things', { a: 1, b: 2 }),
          status_code: 201,
          body: first.json(),
          created_at: new Date(T0 + 5 * HOUR + 123).toISOString(),
        },
      ]);
      const k2 = fresh();
      await send(t, 'POST', '/v1/things/abc', { key: k2, as: 'account:acc_1' });
      assert.deepEqual(
        (await rows(db)).filter((r) => r.key === k2).map((r) => r.scope),
        ['account:acc_1 POST /v1/things/:id'],
      );
      clock.set(new Date(T0));
    });

    test('the same key and the same request (other field order) replays status and body, Idempotent-Replayed: true, application/json, without running again', async () => {
      const key = fresh();
      const first = await send(t, 'POST', '/v1/things', { key, body: { a: 1, b: { c: 1, d: 2 } } });
      const runs = t.runs.things;
      const again = await send(t, 'POST', '/v1/things', { key, body: { b: { d: 2, c: 1 }, a: 1 } });
      assertReplayed(again, first);
      assert.equal(again.headers['content-type'], JSON_TYPE);
      assert.equal(t.runs.things, runs);
      assertReplayed(await send(t, 'POST', '/v1/things', { key, body: { a: 1, b: { c: 1, d: 2 } } }), first);
      assert.equal(t.runs.things, runs);
    });

    test('PUT and DELETE take part too', async () => {
      for (const method of ['PUT', 'DELETE']) {
        const key = fresh();
        const first = await send(t, method, '/v1/things/a', { key });
        assert.equal(first.statusCode, 200);
        assertReplayed(await send(t, method, '/v1/things/a', { key }), first);
      }
      assert.equal(t.runs.put, 1);
      assert.equal(t.runs.delete, 1);
    });

    test('a kept 4xx answer is replayed as application/problem+json (400 and 404)', async () => {
      for (const url of ['/v1/bad', '/v1/missing']) {
        const key = fresh();
        const first = await send(t, 'POST', url, { key });
        assert.ok(first.statusCode === 400 || first.statusCode === 404);
        const again = await send(t, 'POST', url, { key });
        assertReplayed(again, first);
        assert.equal(again.headers['content-type'], PROBLEM_TYPE);
      }
      assert.equal(t.runs.bad, 1);
      assert.equal(t.runs.missing, 1);
    });

    test('a kept 204 is replayed with no body and no content type', async () => {
      const key = fresh();
      const first = await send(t, 'POST', '/v1/empty', { key });
      assert.equal(first.statusCode, 204);
      assert.deepEqual((await rows(db)).filter((r) => r.key === key).map((r) => [r.status_code, r.body]), [[204, null]]);
      const again = await send(t, 'POST', '/v1/empty', { key });
      assertReplayedEmpty(again, 204);
      assert.equal(t.runs.empty, 1);
    });

    test('a 204 row with a body is still replayed without one', async () => {
      const key = fresh();
      const hash = await requestHash(db, 'POST', '/v1/things', undefined);
      assert.ok(await claimIdempotencyKey(db, { scope: 'admin POST /v1/things', key, request_hash: hash, in_progress: 0, now: new Date(T0) }));
      await keepIdempotentAnswer(db, 'admin POST /v1/things', key, 204, { x: 1 }, 0);
      const runs = t.runs.things;
      const res = await send(t, 'POST', '/v1/things', { key });
      assertReplayedEmpty(res, 204);
      assert.equal(t.runs.things, runs);
    });

    test('an empty answer is kept as null and replayed empty; a body that is not JSON is kept as a string', async () => {
      const key = fresh();
      const first = await send(t, 'POST', '/v1/blank', { key });
      assert.equal(first.statusCode, 200);
      assert.deepEqual((await rows(db)).filter((r) => r.key === key).map((r) => [r.status_code, r.body]), [[200, null]]);
      const again = await send(t, 'POST', '/v1/blank', { key });
      assert.equal(again.statusCode, 200);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.body, '');
      assert.equal(t.runs.blank, 1);

      const k2 = fresh();
      const text = await send(t, 'POST', '/v1/text', { key: k2 });
      assert.equal(text.body, 'plain 1');
      assert.deepEqual((await rows(db)).filter((r) => r.key === k2).map((r) => [r.status_code, r.body]), [[200, 'plain 1']]);
      const replay = await send(t, 'POST', '/v1/text', { key: k2 });
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.equal(t.runs.text, 1);
    });

    test('another request with the same key is 422 idempotency_key_reused, nothing runs: another body, query string or path', async () => {
      const key = fresh();
      await send(t, 'POST', '/v1/things', { key, body: { a: 1 } });
      const runs = t.runs.things;
      assertProblem(await send(t, 'POST', '/v1/things', { key, body: { a: 2 } }), 422, 'idempotency_key_reused', REUSED_DETAIL, { idempotency_key: key });
      assertProblem(await send(t, 'POST', '/v1/things?x=1', { key, body: { a: 1 } }), 422, 'idempotency_key_reused', REUSED_DETAIL, { idempotency_key: key });
      assert.equal(t.runs.things, runs);
      // The route pattern is the scope, the path is the request: another id is another request.
      const k2 = fresh();
      assert.equal((await send(t, 'POST', '/v1/things/a', { key: k2 })).statusCode, 201);
      assertProblem(await send(t, 'POST', '/v1/things/b', { key: k2 }), 422, 'idempotency_key_reused', REUSED_DETAIL, { idempotency_key: k2 });
    });

    test('the key is scoped per caller (admin, each account) and per route and method', async () => {
      const key = fresh();
      const admin = await send(t, 'POST', '/v1/things', { key, body: { a: 1 } });
      const acc1 = await send(t, 'POST', '/v1/things', { key, body: { a: 1 }, as: 'account:acc_1' });
      const acc2 = await send(t, 'POST', '/v1/things', { key, body: { a: 1 }, as: 'account:acc_2' });
      assert.deepEqual([admin.json().n + 1, admin.json().n + 2], [acc1.json().n, acc2.json().n]);
      assert.equal(acc1.headers['idempotent-replayed'], undefined);
      assertReplayed(await send(t, 'POST', '/v1/things', { key, body: { a: 1 }, as: 'account:acc_1' }), acc1);
      // Another route with the same key is another operation, not a reused key.
      const other = await send(t, 'POST', '/v1/empty', { key });
      assert.equal(other.statusCode, 204);
      assert.equal(other.headers['idempotent-replayed'], undefined);
      // The same route pattern with another method too.
      const post = await send(t, 'POST', '/v1/mixed', { key });
      const get = await send(t, 'GET', '/v1/mixed', { key });
      assert.equal(get.headers['idempotent-replayed'], undefined);
      assert.deepEqual([post.json().n, get.json().n], [1, 1]);
      assertReplayed(await send(t, 'GET', '/v1/mixed', { key }), get);
      assert.deepEqual((await rows(db)).filter((r) => r.key === key).map((r) => r.scope), [
        'account:acc_1 POST /v1/things',
        'account:acc_2 POST /v1/things',
        'admin GET /v1/mixed',
        'admin POST /v1/empty',
        'admin POST /v1/mixed',
        'admin POST /v1/things',
      ]);
    });
  });

  describe('the claim on the request', () => {
    test('req.idempotency is { scope, key } while a claimed request runs, null otherwise', async () => {
      const key = fresh();
      assert.deepEqual((await send(t, 'POST', '/v1/claim', { key })).json(), { claim: { scope: 'admin POST /v1/claim', key } });
      assert.deepEqual((await send(t, 'POST', '/v1/claim')).json(), { claim: null });
      assert.deepEqual((await send(t, 'POST', '/v1/claim', { key: fresh(), as: 'none' })).json(), { claim: null });
      assert.deepEqual((await send(t, 'GET', '/v1/claim', { key: fresh() })).json(), { claim: null });
    });
  });

  describe('in progress and age', () => {
    const scope = 'admin POST /v1/things';
    async function inProgress(key: string, at: number, body: unknown = { a: 1 }) {
      assert.ok(await claimIdempotencyKey(db, { scope, key, request_hash: await requestHash(db, 'POST', '/v1/things', body), in_progress: 0, now: new Date(at) }));
    }
    async function kept(key: string, at: number) {
      await inProgress(key, at);
      await keepIdempotentAnswer(db, scope, key, 201, { n: -1, kept: true }, 0);
    }

    test('while the first is in progress (less than 10 minutes): 409 conflict, nothing runs', async () => {
      clock.set(new Date(T0));
      const key = fresh();
      await inProgress(key, T0 - IN_PROGRESS_STALE_MS + 1);
      const runs = t.runs.things;
      assertProblem(await send(t, 'POST', '/v1/things', { key, body: { a: 1 } }), 409, 'conflict', IN_PROGRESS_DETAIL, { idempotency_key: key });
      assert.equal(t.runs.things, runs);
      // Another request with that key while it runs is still a reused key.
      assertProblem(await send(t, 'POST', '/v1/things', { key, body: { a: 2 } }), 422, 'idempotency_key_reused', REUSED_DETAIL, { idempotency_key: key });
    });

    test('an in-progress row exactly 10 minutes old is abandoned: the request runs and is kept anew', async () => {
      assert.equal(IN_PROGRESS_STALE_MS, 10 * MINUTE);
      clock.set(new Date(T0));
      const key = fresh();
      await inProgress(key, T0 - 10 * MINUTE, { other: true });
      const runs = t.runs.things;
      const res = await send(t, 'POST', '/v1/things', { key, body: { a: 1 } });
      assert.equal(res.statusCode, 201);
      assert.equal(t.runs.things, runs + 1);
      assert.deepEqual(
        (await rows(db, scope)).filter((r) => r.key === key).map((r) => [r.status_code, r.created_at]),
        [[201, new Date(T0).toISOString()]],
      );
    });

    test('a kept answer older than 10 minutes is still replayed; 1 ms before 24 hours too', async () => {
      assert.equal(IDEMPOTENCY_TTL_MS, 24 * HOUR);
      clock.set(new Date(T0));
      const key = fresh();
      await kept(key, T0 - 24 * HOUR + 1);
      const runs = t.runs.things;
      const res = await send(t, 'POST', '/v1/things', { key, body: { a: 1 } });
      assert.equal(res.statusCode, 201);
      assert.equal(res.headers['idempotent-replayed'], 'true');
      assert.deepEqual(res.json(), { n: -1, kept: true });
      assert.equal(t.runs.things, runs);
    });

    test('a kept answer exactly 24 hours old is not replayed: the request runs again (even another request with the key)', async () => {
      clock.set(new Date(T0));
      const key = fresh();
      await kept(key, T0 - 24 * HOUR);
      const runs = t.runs.things;
      const res = await send(t, 'POST', '/v1/things', { key, body: { a: 2 } });
      assert.equal(res.statusCode, 201);
      assert.equal(res.headers['idempotent-replayed'], undefined);
      assert.equal(t.runs.things, runs + 1);
      assert.deepEqual(
        (await rows(db, scope)).filter((r) => r.key === key).map((r) => [r.status_code, r.body, r.created_at]),
        [[201, res.json(), new Date(T0).toISOString()]],
      );
    });
  });

  describe('answers not kept', () => {
    test('a 5xx (500 thrown, 503) or 429 answer is not kept: the same key runs again', async () => {
      for (const [url, name, status] of [
        ['/v1/boom', 'boom', 500],
        ['/v1/unavailable', 'unavailable', 503],
        ['/v1/slow-down', 'slow-down', 429],
      ] as const) {
        const key = fresh();
        const runs = t.runs[name] ?? 0;
        const a = await send(t, 'POST', url, { key });
        assert.equal(a.statusCode, status);
        assert.deepEqual((await rows(db)).filter((r) => r.key === key), []);
        const b = await send(t, 'POST', url, { key });
        assert.equal(b.statusCode, status);
        assert.equal(b.headers['idempotent-replayed'], undefined);
        assert.equal(t.runs[name], runs + 2);
      }
      assert.deepEqual(t.logs.filter((l) => l.msg === 'could not keep the idempotent answer'), []);
    });

    test('when keeping the answer fails, the answer is sent, the error logged and the claim released (the key may be sent again)', async () => {
      const failing = through(db, (sql, _p, real) => (sql.startsWith('UPDATE idempotent_requests') ? Promise.reject(new Error('keep refused')) : real()));
      const f = await build(failing, clock);
      try {
        const key = fresh();
        const a = await send(f, 'POST', '/v1/things', { key, body: { card: { number: '4242424242424242' } } });
        assert.equal(a.statusCode, 201);
        const errors = f.logs.filter((l) => l.msg === 'could not keep the idempotent answer');
        assert.equal(errors.length, 1);
        assert.equal(errors[0].err.message, 'keep refused');
        assert.equal(errors[0].level, 50);
        assert.ok(!JSON.stringify(f.logs).includes('4242'));
        assert.deepEqual((await rows(db)).filter((r) => r.key === key), []);
        const b = await send(f, 'POST', '/v1/things', { key, body: { card: { number: '4242424242424242' } } });
        assert.equal(b.json().n, a.json().n + 1);
      } finally {
        await f.app.close();
      }
    });

    test('when releasing the claim fails too, the answer is still sent', async () => {
      const failing = through(db, (sql, _p, real) =>
        sql.startsWith('UPDATE idempotent_requests') || sql.startsWith('DELETE FROM idempotent_requests') ? Promise.reject(new Error('store down')) : real(),
      );
      const f = await build(failing, clock);
      try {
        const key = fresh();
        const a = await send(f, 'POST', '/v1/things', { key });
        assert.equal(a.statusCode, 201);
        assert.equal(f.logs.filter((l) => l.msg === 'could not keep the idempotent answer').length, 1);
        assert.deepEqual((await rows(db)).filter((r) => r.key === key).map((r) => r.status_code), [0]);
      } finally {
        await f.app.close();
      }
    });
  });

  describe('claim races', () => {
    test('a row released between the claim and the read: claimed again', async () => {
      let claims = 0;
      let lose = true;
      const racy = through(db, (sql, _p, real) => {
        if (sql.startsWith('INSERT INTO idempotent_requests')) {
          claims++;
          if (lose) return Promise.resolve([]);
        }
        if (sql.startsWith('SELECT request_hash') && lose) {
          lose = false;
          return Promise.resolve([]);
        }
        return real();
      });
      const f = await build(racy, clock);
      try {
        const key = fresh();
        const res = await send(f, 'POST', '/v1/things', { key });
        assert.equal(res.statusCode, 201);
        assert.equal(claims, 2);
        assert.deepEqual((await rows(db)).filter((r) => r.key === key).map((r) => r.status_code), [201]);
      } finally {
        await f.app.close();
      }
    });

    test('three claims lost in a row: 409 conflict "being processed", nothing runs', async () => {
      let claims = 0;
      const racy = through(db, (sql, _p, real) => {
        if (sql.startsWith('INSERT INTO idempotent_requests')) {
          claims++;
          return Promise.resolve([]);
        }
        if (sql.startsWith('SELECT request_hash')) return Promise.resolve([]);
        return real();
      });
      const f = await build(racy, clock);
      try {
        const key = fresh();
        assertProblem(await send(f, 'POST', '/v1/things', { key }), 409, 'conflict', 'a request with this Idempotency-Key is being processed; try again shortly', { idempotency_key: key });
        assert.equal(claims, 3);
        assert.equal(f.runs.things, undefined);
      } finally {
        await f.app.close();
      }
    });
  });

  describe('which routes take part', () => {
    /** Whether the route replays a second request with the same key. */
    async function takesPart(method: string, url: string) {
      const key = fresh('part');
      const a = await send(t, method, url, { key });
      const b = await send(t, method, url, { key });
      assert.ok(a.statusCode < 300, `${method} ${url}: ${a.statusCode}`);
      return b.headers['idempotent-replayed'] === 'true';
    }

    test('/v1/ routes that change something take part by default; GET and HEAD do not', async () => {
      assert.equal(await takesPart('POST', '/v1/things'), true);
      assert.equal(await takesPart('POST', '/v1/mixed'), true);
      assert.equal(await takesPart('GET', '/v1/mixed'), true);
      assert.equal(await takesPart('GET', '/v1/things'), false);
      assert.equal(await takesPart('HEAD', '/v1/things'), false);
      assert.equal(await takesPart('HEAD', '/v1/head-only'), false);
      assert.equal(await takesPart('GET', '/v1/get-array'), false);
      assert.equal(await takesPart('GET', '/v1/get-head'), false);
      assert.equal(await takesPart('HEAD', '/v1/get-head'), false);
      // A GET route ignores the key entirely: even a malformed one.
      assert.equal((await send(t, 'GET', '/v1/things', { key: 'a b' })).statusCode, 200);
    });

    test('GET (and HEAD) take part with idempotent: true', async () => {
      assert.equal(await takesPart('GET', '/v1/with-opt-in'), true);
      assert.equal(t.runs['with-opt-in'], 1);
      assert.equal(await takesPart('HEAD', '/v1/with-opt-in'), true);
    });

    test('idempotent: false opts out: the key is ignored, even a malformed one', async () => {
      assert.equal(await takesPart('POST', '/v1/opted-out'), false);
      assert.equal((await send(t, 'POST', '/v1/opted-out', { key: 'a b' })).statusCode, 201);
      assert.equal(await takesPart('GET', '/not-v1/opted-out'), false);
    });

    test('routes outside /v1/ never take part, unless idempotent: true (any method)', async () => {
      assert.equal(await takesPart('POST', '/not-v1'), false);
      assert.equal(await takesPart('POST', '/v1'), false);
      assert.equal(await takesPart('POST', '/v1x/things'), false);
      assert.equal(await takesPart('POST', '/not-v1/opt-in'), true);
      assert.equal(await takesPart('GET', '/not-v1/opt-in'), true);
    });

    test('a refused route answers 400 idempotency_key_not_supported with the reason, runs normally without the key', async () => {
      const detail = `Idempotency-Key is not supported on this operation: ${REFUSED_WHY}; send the request without it`;
      for (const url of ['/v1/refused', '/v1/refused-schema-bare']) {
        const runs = t.runs[url.slice(4)] ?? 0;
        assertProblem(await send(t, 'POST', url, { key: fresh(), body: {} }), 400, 'idempotency_key_not_supported', detail);
        // Whatever the key: it is refused, not checked.
        assertProblem(await send(t, 'POST', url, { key: 'a b', body: {} }), 400, 'idempotency_key_not_supported', detail);
        assert.equal(t.runs[url.slice(4)] ?? 0, runs);
        const a = await send(t, 'POST', url, { body: {} });
        const b = await send(t, 'POST', url, { body: {} });
        assert.equal(a.statusCode, 201);
        assert.equal(b.json().n, a.json().n + 1);
      }
      assert.equal((await rows(db)).filter((r) => r.scope.includes('refused')).length, 0);
    });
  });

  describe("the route's own preHandlers and schema", () => {
    test("the route's own preHandler (one or a list) runs first; its refusal is not kept", async () => {
      for (const url of ['/v1/guarded', '/v1/guarded-list']) {
        const key = fresh();
        t.order.length = 0;
        assertProblem(await send(t, 'POST', url, { key, headers: { 'x-deny': '1' } }), 403, 'forbidden', 'denied');
        assert.deepEqual((await rows(db)).filter((r) => r.key === key), []);
        const ok = await send(t, 'POST', url, { key });
        assert.equal(ok.statusCode, 201);
        assert.equal(ok.headers['idempotent-replayed'], undefined);
        assertReplayed(await send(t, 'POST', url, { key }), ok);
        assert.deepEqual(t.order, url === '/v1/guarded' ? ['own', 'own', 'own'] : ['own', 'own', 'own 2', 'own', 'own 2']);
      }
    });

    test("on a refused route the route's own preHandler answers first", async () => {
      for (const url of ['/v1/refused-guarded', '/v1/refused-guarded-list']) {
        assertProblem(await send(t, 'POST', url, { key: fresh(), headers: { 'x-deny': '1' } }), 403, 'forbidden', 'denied');
        assert.equal((await send(t, 'POST', url, { key: fresh() })).statusCode, 400);
        assert.equal((await send(t, 'POST', url)).statusCode, 201);
      }
    });

    test('the header is documented and validated on a route with a schema; 409 and 422 answers added; its own headers and responses kept', async () => {
      assert.deepEqual(idempotencyHeaderSchema, {
        type: 'string',
        minLength: 1,
        maxLength: 255,
        pattern: '^[\\x21-\\x7e]+$',
        description:
          'Optional. A unique key (e.g. a UUID) per operation: sending the same request again with the same key replays the first answer ' +
          '(header Idempotent-Replayed: true) and does nothing twice. Another request with the same key: 422 idempotency_key_reused; ' +
          'while the first is still running: 409. Kept 24 hours.',
        example: '5f0c1d2e-8a7b-4c3d-9e1f-2a3b4c5d6e7f',
      });
      const bare = t.routes.get('POST /v1/schema-bare')!.schema as Record<string, any>;
      assert.deepEqual(bare.body, { type: 'object' });
      assert.deepEqual(bare.headers, { type: 'object', properties: { 'idempotency-key': idempotencyHeaderSchema } });
      assert.deepEqual(bare.response, { 409: { $ref: 'Problem#' }, 422: { $ref: 'Problem#' } });
      const own = t.routes.get('POST /v1/schema-own')!.schema as Record<string, any>;
      assert.deepEqual(own.headers, { type: 'object', properties: { 'x-own': { type: 'string' }, 'idempotency-key': idempotencyHeaderSchema }, required: ['x-own'] });
      assert.deepEqual(Object.keys(own.response).sort(), ['201', '409', '422']);
      assert.deepEqual(own.response[409], { $ref: 'Problem#' });
      assert.deepEqual(own.response[422], { $ref: 'Problem#' });
      assert.equal(t.routes.get('POST /v1/things')!.schema, undefined);
      // The schema's pattern is checked by the validator, before any preHandler.
      const bad = await send(t, 'POST', '/v1/schema-own', { key: 'a b', headers: { 'x-own': '1' } });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().message, /idempotency-key/);
      assert.equal((await send(t, 'POST', '/v1/schema-own', { key: fresh() })).statusCode, 400); // x-own still required
      const key = fresh();
      const first = await send(t, 'POST', '/v1/schema-own', { key, headers: { 'x-own': '1' } });
      assert.equal(first.statusCode, 201);
      assertReplayed(await send(t, 'POST', '/v1/schema-own', { key, headers: { 'x-own': '1' } }), first);
    });

    test('a refused route with a schema documents the refusal, keeping its own headers', async () => {
      assert.deepEqual(refusedHeaderSchema('why not'), {
        type: 'string',
        description: 'Not supported here: a request with Idempotency-Key is refused (400 idempotency_key_not_supported), because why not.',
      });
      const bare = Object.fromEntries(Object.entries(t.routes.get('POST /v1/refused-schema-bare')!.schema as object));
      assert.deepEqual(bare, { body: { type: 'object' }, headers: { type: 'object', properties: { 'idempotency-key': refusedHeaderSchema(REFUSED_WHY) } } });
      const own = Object.fromEntries(Object.entries(t.routes.get('POST /v1/refused-schema-own')!.schema as object));
      assert.deepEqual(own, {
        headers: { type: 'object', properties: { 'x-own': { type: 'string' }, 'idempotency-key': refusedHeaderSchema(REFUSED_WHY) }, required: ['x-own'] },
      });
      assert.equal(t.routes.get('POST /v1/refused')!.schema, undefined);
    });
  });

  describe('sweep', () => {
    const scope = 'admin POST /v1/swept';
    async function seed(ages: number[], now: number) {
      const keys = ages.map(() => fresh('sweep'));
      for (const [i, age] of ages.entries()) assert.ok(await claimIdempotencyKey(db, { scope, key: keys[i], request_hash: 'h', in_progress: 0, now: new Date(now - age) }));
      return keys;
    }
    const left = async () => (await rows(db, scope)).map((r) => r.key);

    test('sweepIdempotentRequests deletes rows older than 24 hours, keeps one exactly 24 hours old and younger', async () => {
      await db.query('DELETE FROM idempotent_requests WHERE scope = $1', [scope]);
      const [old, edge, young] = await seed([24 * HOUR + 1, 24 * HOUR, HOUR], T0);
      await sweepIdempotentRequests(db, new Date(T0));
      assert.deepEqual((await left()).sort(), [edge, young].sort());
      assert.ok(old);
    });

    test('a request sweeps in 1 % of cases (Math.random() < 0.01), at the clock time', async (c) => {
      clock.set(new Date(T0));
      for (const [r, swept] of [
        [0.01, false],
        [0.5, false],
        [0.0099, true],
        [0, true],
      ] as const) {
        await db.query('DELETE FROM idempotent_requests WHERE scope = $1', [scope]);
        const [old, edge] = await seed([24 * HOUR + 1, 24 * HOUR], T0);
        const random = c.mock.method(Math, 'random', () => r);
        try {
          assert.equal((await send(t, 'POST', '/v1/things', { key: fresh() })).statusCode, 201);
        } finally {
          random.mock.restore();
        }
        assert.deepEqual((await left()).sort(), (swept ? [edge] : [old, edge]).sort(), `Math.random() = ${r}`);
      }
      // A request without a key never sweeps.
      await db.query('DELETE FROM idempotent_requests WHERE scope = $1', [scope]);
      const kept = await seed([25 * HOUR], T0);
      const random = mock.method(Math, 'random', () => 0);
      try {
        await send(t, 'POST', '/v1/things');
      } finally {
        random.mock.restore();
      }
      assert.deepEqual(await left(), kept);
    });
  });
});

describe('Idempotency-Key on PostgreSQL', () => {
  let pg: TestDb;
  let t: TestApp;
  const clock = manualClock(new Date(T0));
  before(async () => {
    pg = await createTestDatabase('postgres', { poolMax: 2 });
    t = await build(pg.db, clock);
  });
  after(async () => {
    await t?.app.close();
    await pg?.drop();
  });

  test('kept and replayed, another request 422, in progress 409; its own secret gives another hash than another database', async () => {
    const first = await send(t, 'POST', '/v1/things', { key: 'pg-1', body: { b: 1, a: 2 } });
    assert.equal(first.statusCode, 201);
    assertReplayed(await send(t, 'POST', '/v1/things', { key: 'pg-1', body: { a: 2, b: 1 } }), first);
    assertProblem(await send(t, 'POST', '/v1/things', { key: 'pg-1', body: { a: 3 } }), 422, 'idempotency_key_reused', REUSED_DETAIL, { idempotency_key: 'pg-1' });
    assert.equal(t.runs.things, 1);
    const [row] = await rows(pg.db);
    assert.deepEqual(row, {
      scope: 'admin POST /v1/things',
      key: 'pg-1',
      request_hash: await requestHash(pg.db, 'POST', '/v1/things', { a: 2, b: 1 }),
      status_code: 201,
      body: first.json(),
      created_at: new Date(T0).toISOString(),
    });
    assert.ok(await claimIdempotencyKey(pg.db, { scope: 'admin POST /v1/things', key: 'pg-2', request_hash: await requestHash(pg.db, 'POST', '/v1/things', undefined), in_progress: 0, now: new Date(T0) }));
    assertProblem(await send(t, 'POST', '/v1/things', { key: 'pg-2' }), 409, 'conflict', IN_PROGRESS_DETAIL, { idempotency_key: 'pg-2' });

    // Another installation (the PGlite database above), another secret: the same request hashes differently.
    assert.ok(pgliteHash);
    assert.notEqual(await requestHash(pg.db, 'POST', '/v1/things', { a: 1 }), pgliteHash);
  });
});
