// Issue 16 item 5: slow clients cannot hold the server. A connection that trickles its headers, a
// body that never finishes and an idle keep-alive connection are closed within a bounded time,
// and connections over the cap are closed at once. The timeouts are short here (set in the
// service's config); the test waits for the server to close each socket, never sleeps.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestService, type TestService } from '../helpers/service.ts';

const HEADERS_MS = 300;
const REQUEST_MS = 600;
const KEEP_ALIVE_MS = 300;
const MAX_CONNECTIONS = 6;
/** Node checks the timeouts on a timer (a quarter of the shortest here): the bound allows for it and a loaded machine. */
const SLACK_MS = 1500;

interface Opened {
  socket: net.Socket;
  /** Resolves with ms from open to the server closing it, and what the server answered. */
  closed: Promise<{ ms: number; answer: string }>;
}

function open(port: number): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const started = performance.now();
    let answer = '';
    socket.on('data', (c) => (answer += c.toString('latin1')));
    const closed = new Promise<{ ms: number; answer: string }>((done) => socket.on('close', () => done({ ms: performance.now() - started, answer })));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

describe('slow clients', () => {
  let t: TestService;
  let port: number;
  before(async () => {
    t = await startTestService({ config: { headersTimeoutMs: HEADERS_MS, requestTimeoutMs: REQUEST_MS, keepAliveTimeoutMs: KEEP_ALIVE_MS, maxConnections: MAX_CONNECTIONS } });
    port = Number(new URL(t.url).port);
  });
  after(() => t?.close());

  test('headers that never end: 408 and closed after the header timeout', async () => {
    const c = await open(port);
    c.socket.write('GET /v1/plans HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const { ms, answer } = await c.closed;
    assert.ok(ms >= HEADERS_MS * 0.8, `closed too early (${ms} ms)`);
    assert.ok(ms < HEADERS_MS + SLACK_MS, `still open after ${ms} ms`);
    assert.match(answer, /^HTTP\/1\.1 408/);
  });

  test('a body that never finishes: closed after the request timeout, nothing done', async () => {
    const c = await open(port);
    const body = JSON.stringify({ id: 'slow', name: 'Slow', prices: [] });
    c.socket.write(`POST /v1/plans HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer rk_test_admin_key_for_tests_only\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    c.socket.write(body.slice(0, 10));
    const { ms, answer } = await c.closed;
    assert.ok(ms >= REQUEST_MS * 0.8, `closed too early (${ms} ms)`);
    assert.ok(ms < REQUEST_MS + SLACK_MS, `still open after ${ms} ms`);
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.equal((await t.api('GET', '/v1/plans')).body.data.some((p: { id: string }) => p.id === 'slow'), false);
  });

  test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const c = await open(port);
    c.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const { ms, answer } = await c.closed;
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.ok(ms >= KEEP_ALIVE_MS * 0.8, `closed too early (${ms} ms)`);
    // Node keeps an idle socket 1 s past the timeout it announces (keepAliveTimeoutBuffer), so a
    // client never sends on a socket being closed.
    assert.ok(ms < KEEP_ALIVE_MS + 1000 + SLACK_MS, `still open after ${ms} ms`);
  });

  test('connections over the cap are closed at once; once the slow ones are gone, requests are served', async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => open(port)));
    for (const c of held) c.socket.write('GET /v1/plans HTTP/1.1\r\n');
    const extra = await open(port);
    const { ms, answer } = await extra.closed;
    assert.equal(answer, '');
    assert.ok(ms < HEADERS_MS, `the connection over the cap stayed ${ms} ms`);
    await Promise.all(held.map((c) => c.closed));
    assert.equal((await t.api('GET', '/v1/plans')).status, 200);
  });
});
