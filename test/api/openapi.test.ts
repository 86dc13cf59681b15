// Issue 5, the API's description: /openapi.json is OpenAPI 3.1 and documents every /v1 route the
// server answers (tags, summary, parameters, request bodies with examples, responses with the
// problem documents); the docs page is served.
// Issue 17: the document is valid for a validator nobody here wrote, names every operation
// (operationId) and says what it does, says where the API is (servers), declares every error as
// application/problem+json, and its examples pass their own schemas. The answers themselves are
// checked against it in every API test (test/helpers/contract.ts); the checker is tested here.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { startTestService, type TestService } from '../helpers/service.ts';
import { contractOf } from '../helpers/contract.ts';
import { PROBLEM_TYPES } from '../../src/http/problem.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Method+path of every route the server has, from Fastify's route tree (`/:id` → `/{id}`). */
function serverRoutes(tree: string): Set<string> {
  const out = new Set<string>();
  const stack: { depth: number; path: string }[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│├└─\s]*)(\S.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1].length;
    while (stack.length && stack[stack.length - 1].depth >= depth) stack.pop();
    const path = (stack.length ? stack[stack.length - 1].path : '') + m[2];
    stack.push({ depth, path });
    if (!m[3]) continue;
    for (const method of m[3].split(',').map((s) => s.trim())) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      out.add(`${method} ${path.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
    }
  }
  return out;
}

describe('OpenAPI document', () => {
  let t: TestService;
  let doc: any;
  before(async () => {
    t = await startTestService();
    const r = await t.api('GET', '/openapi.json', undefined, null);
    assert.equal(r.status, 200);
    doc = r.body;
  });
  after(() => t?.close());

  const operations = () =>
    Object.entries<any>(doc.paths).flatMap(([path, item]) =>
      Object.entries<any>(item)
        .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op })),
    );

  test('is OpenAPI 3.1 with the info, security schemes and the Problem schema; lists the problem types', () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(doc.info.title, 'renewd API');
    assert.ok(doc.info.version);
    for (const code of Object.keys(PROBLEM_TYPES)) assert.ok(doc.info.description.includes(code), code);
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['adminKey', 'gatewaySignature', 'portalToken']);
    assert.equal(doc.components.schemas.Problem.type, 'object');
    assert.ok(doc.paths && typeof doc.paths === 'object');
  });

  test('documents every /v1 route the server answers, and nothing else', () => {
    const served = [...serverRoutes(t.svc.app.printRoutes({ commonPrefix: false }))].filter((k) => k.split(' ')[1].startsWith('/v1/'));
    const documented = new Set(operations().map((o) => o.key));
    assert.ok(served.length >= 30, served.join('\n'));
    const missing = served.filter((k) => !documented.has(k));
    assert.deepEqual(missing, [], `not in /openapi.json: ${missing.join(', ')}`);
    const extra = [...documented].filter((k) => !served.includes(k)); // pages and console (HTML) are not in it either
    assert.deepEqual(extra, []);
    for (const must of [
      'POST /v1/accounts/{id}/portal-sessions',
      'DELETE /v1/portal-sessions/{id}',
      'PUT /v1/accounts/{id}/payment-method',
      'GET /v1/accounts/{id}/invoices',
      'POST /v1/invoices/{id}/retry',
      'POST /v1/invoices/{id}/help-requests',
      'GET /v1/help-requests',
      'GET /v1/help-requests/{id}',
      'POST /v1/help-requests/{id}/answer',
      'POST /v1/help-requests/{id}/close',
      'GET /v1/accounts/{id}/help-requests',
    ])
      assert.ok(documented.has(must), must);
  });

  test('every operation has tags, a summary, security, its path parameters and responses with problem documents', () => {
    for (const { key, path, op } of operations()) {
      if (!path.startsWith('/v1/')) continue;
      assert.ok(Array.isArray(op.tags) && op.tags.length > 0, `${key}: tags`);
      assert.ok(typeof op.summary === 'string' && op.summary.length > 0, `${key}: summary`);
      assert.ok(Array.isArray(op.security) && op.security.length > 0, `${key}: security`);
      for (const name of [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]))
        assert.ok(op.parameters?.some((p: any) => p.in === 'path' && p.name === name && p.required), `${key}: path parameter ${name}`);
      const codes = Object.keys(op.responses ?? {});
      assert.ok(codes.some((c) => /^2\d\d$/.test(c)), `${key}: a 2xx response`);
      const problems = codes.filter((c) => /^[45]\d\d$/.test(c));
      assert.ok(problems.length > 0, `${key}: problem responses`);
      for (const c of problems) {
        const content = op.responses[c].content;
        const schema = content?.['application/json']?.schema ?? content?.['application/problem+json']?.schema;
        assert.equal(schema?.$ref, '#/components/schemas/Problem', `${key} ${c}: Problem`);
      }
    }
  });

  test('request bodies and query strings are described with examples; the self-service routes fully', () => {
    const selfService = /^\/v1\/(accounts\/\{id\}\/(portal-sessions|payment-method|help-requests|invoices)|portal-sessions|invoices|help-requests|subscriptions)/;
    for (const { key, path, op } of operations()) {
      const body = op.requestBody?.content?.['application/json']?.schema;
      if (body) assert.ok(body.example !== undefined || body.examples !== undefined, `${key}: body example`);
      if (!selfService.test(path)) continue;
      const ok = Object.entries<any>(op.responses).find(([c]) => /^2\d\d$/.test(c))![1];
      // A document is a PDF (issue 23): described as binary application/pdf.
      if (key.endsWith('/pdf')) assert.equal(ok.content?.['application/pdf']?.schema?.format, 'binary', `${key}: PDF response`);
      else if (!key.startsWith('DELETE')) assert.ok(ok.content?.['application/json']?.schema, `${key}: response schema`);
    }
    const retry = doc.paths['/v1/invoices/{id}/retry'].post;
    assert.ok(retry.responses['409']);
    assert.ok(retry.parameters.some((p: any) => p.in === 'header' && p.name === 'idempotency-key'), 'Idempotency-Key documented');
    for (const k of ['/v1/subscriptions', '/v1/invoices/{id}/help-requests'])
      assert.ok(doc.paths[k].post.parameters.some((p: any) => p.in === 'header' && p.name === 'idempotency-key'), k);
    assert.ok(doc.paths['/v1/accounts/{id}/payment-method'].put.parameters.some((p: any) => p.name === 'idempotency-key'));
    assert.ok(doc.paths['/v1/accounts/{id}/payment-method'].put.responses['429']);
    const q = doc.paths['/v1/help-requests'].get.parameters.find((p: any) => p.in === 'query' && p.name === 'status');
    assert.deepEqual(q.schema.enum, ['open', 'answered', 'closed']);
  });

  test('an independent validator (@seriousme/openapi-schema-validator) accepts the document', async () => {
    const v = new Validator();
    const res = await v.validate(structuredClone(doc));
    assert.ok(res.valid, JSON.stringify(res.errors, null, 1)?.slice(0, 3000));
    assert.equal(v.version, '3.1');
  });

  test('servers; a unique operationId and a description on every operation; every error is application/problem+json with the Problem schema', () => {
    assert.deepEqual(doc.servers, [{ url: t.url, description: 'this renewd (RENEWD_PUBLIC_URL)' }]);
    const ids = new Map<string, string>();
    for (const { key, op } of operations()) {
      assert.match(op.operationId ?? '', /^[a-z][A-Za-z]+$/, `${key}: operationId`);
      assert.ok(!ids.has(op.operationId), `${key}: operationId ${op.operationId} also on ${ids.get(op.operationId)}`);
      ids.set(op.operationId, key);
      assert.ok(typeof op.description === 'string' && op.description.length > 20, `${key}: description`);
      for (const [code, r] of Object.entries<any>(op.responses)) {
        if (Number(code) < 400) continue;
        assert.deepEqual(Object.keys(r.content ?? {}), ['application/problem+json'], `${key} ${code}`);
        assert.equal(r.content['application/problem+json'].schema.$ref, '#/components/schemas/Problem', `${key} ${code}`);
        assert.ok(r.description, `${key} ${code}: description`);
      }
    }
    assert.equal(ids.get('listAccountInvoices'), 'GET /v1/accounts/{id}/invoices');
    assert.equal(ids.get('archivePlan'), 'POST /v1/plans/{id}/archive');
    assert.equal(ids.get('getAccountAccess'), 'GET /v1/accounts/{id}/access');
  });

  test('the statuses the server answers before any route are documented where they happen', () => {
    for (const { key, path, method, op } of operations()) {
      const codes = new Set(Object.keys(op.responses));
      for (const c of ['400', '401', '429', '500']) assert.ok(codes.has(c), `${key}: ${c}`);
      if (path.includes('{')) for (const c of ['404', '414']) assert.ok(codes.has(c), `${key}: ${c}`);
      if (method !== 'get') for (const c of ['413', '415']) assert.ok(codes.has(c), `${key}: ${c}`);
      const operatorOnly = op.security.every((r: object) => Object.keys(r).join() === 'adminKey');
      if (operatorOnly) assert.ok(codes.has('403'), `${key}: 403`);
    }
  });

  test('every example passes the schema it illustrates', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    const bad: string[] = [];
    let seen = 0;
    const walk = (node: any, where: string) => {
      if (!node || typeof node !== 'object') return;
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}/${i}`));
      const isSchema = 'type' in node || 'properties' in node || '$ref' in node || 'anyOf' in node;
      if ('example' in node && isSchema && !where.endsWith('/properties/example')) {
        seen++;
        const v = ajv.compile({ allOf: [{ ...node, example: undefined }], components: doc.components });
        if (!v(node.example)) bad.push(`${where}: ${JSON.stringify(node.example)} — ${ajv.errorsText(v.errors)}`);
      }
      for (const [k, v] of Object.entries(node)) if (k !== 'example' && k !== 'examples') walk(v, `${where}/${k}`);
    };
    walk(doc.paths, '#/paths');
    walk(doc.components, '#/components');
    assert.ok(seen > 20, `${seen} examples`);
    assert.deepEqual(bad, []);
  });

  test('the contract check of the test helper catches an undocumented status, a wrong content type and a body off its schema', () => {
    const c = contractOf(doc);
    const json = new Headers({ 'content-type': 'application/json; charset=utf-8' });
    const problem = new Headers({ 'content-type': 'application/problem+json; charset=utf-8' });
    const p = { type: 'urn:renewd:problem:not_found', title: 'Not found', status: 404, detail: 'no account x', code: 'not_found' };
    assert.equal(c.check('GET', '/v1/accounts/acct_1', { status: 404, headers: problem, body: p }), null);
    assert.equal(c.check('GET', '/v1/nothing-here', { status: 418, headers: json, body: null }), null, 'not an operation: not checked');
    assert.match(c.check('GET', '/v1/accounts/acct_1', { status: 418, headers: problem, body: p }) ?? '', /status not documented/);
    assert.match(c.check('GET', '/v1/accounts/acct_1', { status: 404, headers: json, body: p }) ?? '', /content type application\/json/);
    assert.match(c.check('GET', '/v1/accounts/acct_1', { status: 404, headers: problem, body: { detail: 'x' } }) ?? '', /must have required property/);
    assert.match(c.check('GET', '/v1/accounts/acct_1/access', { status: 200, headers: json, body: { paid: 'yes' } }) ?? '', /paid must be boolean/);
    assert.match(c.check('DELETE', '/v1/webhook-endpoints/we_1', { status: 204, headers: json, body: { id: 'x' } }) ?? '', /body where the document declares none|content type/);
  });

  test('the docs page is served', async () => {
    const r = await fetch(`${t.url}/docs/`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /swagger/i);
  });
});
