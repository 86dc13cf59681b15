// Issue 5, the API's description: /openapi.json is OpenAPI 3.1 and documents every /v1 route the
// server answers (tags, summary, parameters, request bodies with examples, responses with the
// problem documents); the docs page is served.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, type TestService } from '../helpers/service.ts';
import { PROBLEM_TYPES } from '../../src/http/problem.ts';

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

  test('the docs page is served', async () => {
    const r = await fetch(`${t.url}/docs/`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /swagger/i);
  });
});
