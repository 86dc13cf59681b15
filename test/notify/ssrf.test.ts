// Issue 16 item 2, webhook SSRF: endpoints are refused at registration and deliveries at every
// attempt unless the address is public — loopback, private, CGNAT, link-local (the metadata
// service), multicast, unspecified, IPv4-mapped IPv6, every spelling of an IPv4 address, names of
// this machine and names that resolve to any of those (DNS rebinding: the connection goes to the
// address checked). RENEWD_WEBHOOK_ALLOW_PRIVATE allows private targets; redirects are not followed.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addressClass, refusal, type AddressPolicy } from '../../src/lib/public-address.ts';
import { createEndpoint, deleteEndpoint, listDeliveries, listEndpoints, updateEndpoint } from '../../src/notify/webhook-endpoints.ts';
import { createWebhookDeliverer } from '../../src/notify/webhook-delivery.ts';
import { fanOutEvents } from '../../src/notify/fan-out.ts';
import { CommandError } from '../../src/core/errors.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { manualClock } from './helpers.ts';
import { startTestService } from '../helpers/service.ts';

const T0 = '2026-03-01T09:00:00.000Z';

/** [address, its class (null: public)] */
const ADDRESSES: [string, string | null][] = [
  ['127.0.0.1', 'loopback'],
  ['127.45.6.7', 'loopback'],
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.254', 'private'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'shared (carrier-grade NAT)'],
  ['100.127.255.254', 'shared (carrier-grade NAT)'],
  ['169.254.169.254', 'link-local'],
  ['169.254.0.1', 'link-local'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['192.0.2.10', 'reserved'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['::', 'unspecified'],
  ['fc00::1', 'private'],
  ['fd12:3456::1', 'private'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['ff02::1', 'multicast'],
  ['::ffff:127.0.0.1', 'IPv4-mapped IPv6'],
  ['::ffff:7f00:1', 'IPv4-mapped IPv6'],
  ['::ffff:a9fe:a9fe', 'IPv4-mapped IPv6'],
  ['::ffff:8.8.8.8', 'IPv4-mapped IPv6'],
  ['::127.0.0.1', 'reserved'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::a9fe:a9fe', 'link-local'],
  ['2002:7f00:1::1', 'loopback'],
  ['2002:0a00:0001::1', 'private'],
  ['2001:db8::1', 'reserved'],
  // public
  ['8.8.8.8', null],
  ['1.1.1.1', null],
  ['93.184.216.34', null],
  ['172.32.0.1', null],
  ['172.15.255.255', null],
  ['100.128.0.1', null],
  ['169.255.0.1', null],
  ['11.0.0.1', null],
  ['2606:4700:4700::1111', null],
  ['2a00:1450:4007:80b::200e', null],
  ['64:ff9b::808:808', null],
  ['2002:0808:0808::1', null],
];

describe('address classes', () => {
  for (const [ip, cls] of ADDRESSES)
    test(`${ip}: ${cls ?? 'public'}`, () => {
      assert.equal(addressClass(ip), cls);
      const strict = refusal(ip, { allowPrivate: false });
      assert.equal(strict === null, cls === null);
      const dev = refusal(ip, { allowPrivate: true });
      // The development setting allows private targets, never multicast, broadcast or "nowhere".
      assert.equal(dev === null, !['multicast', 'broadcast', 'unspecified'].includes(cls ?? ''));
    });
});

/** A resolver with names of our own (no DNS in tests). */
function names(map: Record<string, string[]>): AddressPolicy['resolve'] {
  return async (host) => {
    const found = map[host.toLowerCase()];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

const isUrlRefusal = (err: unknown) =>
  err instanceof CommandError && err.kind === 'invalid' && err.code === 'validation_error' && err.fields.length === 1 && err.fields[0].field === 'url';

describe('registration', () => {
  let tdb: TestDb;
  before(async () => {
    tdb = await createTestDatabase('pglite');
  });
  after(() => tdb?.drop());

  const strict: AddressPolicy = {
    allowPrivate: false,
    resolve: names({ 'rebind.example': ['127.0.0.1'], 'mixed.example': ['93.184.216.34', '10.1.2.3'], 'v6local.example': ['::1'], 'hooks.example': ['93.184.216.34', '2606:4700:4700::1111'] }),
  };
  const REFUSED = [
    'http://127.0.0.1:5432/',
    'http://127.0.0.1:8080/v1/accounts',
    'http://[::1]/',
    'http://[::]/',
    'http://0x7f000001/',
    'http://0x7f.0.0.1/',
    'http://2130706433/',
    'http://0177.0.0.1/',
    'http://017700000001/',
    'http://127.1/',
    'http://0/',
    'http://localhost:8080/',
    'http://LOCALHOST./',
    'http://api.localhost/hooks',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[fe80::1]/',
    'http://[fd00::1]/',
    'http://10.0.0.1/',
    'http://100.64.0.1/',
    'http://224.0.0.1/',
    'https://rebind.example/hooks',
    'https://mixed.example/hooks',
    'https://v6local.example/hooks',
  ];
  for (const url of REFUSED)
    test(`refused: ${url}`, async () => {
      await assert.rejects(createEndpoint(tdb.db, { url, event_types: ['*'], now: new Date(T0), targets: strict }), isUrlRefusal);
      assert.equal((await tdb.db.query('SELECT 1 FROM webhook_endpoints')).length, 0);
    });

  test('the refusal says why and what allows it; a public name and a name that does not resolve yet are accepted', async () => {
    const err = await createEndpoint(tdb.db, { url: 'http://0x7f000001:5432/', event_types: ['*'], now: new Date(T0), targets: strict }).catch((e: CommandError) => e);
    assert.match((err as CommandError).message, /url: 127\.0\.0\.1 is a loopback address: webhooks are sent to public addresses only \(RENEWD_WEBHOOK_ALLOW_PRIVATE=1/);
    const ok = await createEndpoint(tdb.db, { url: 'https://hooks.example/renewd', event_types: ['*'], now: new Date(T0), targets: strict });
    assert.equal(ok.url, 'https://hooks.example/renewd');
    await createEndpoint(tdb.db, { url: 'https://not-yet.example/renewd', event_types: ['*'], now: new Date(T0), targets: strict });
    // Changing the URL is checked the same way.
    await assert.rejects(updateEndpoint(tdb.db, ok.id, { url: 'http://169.254.169.254/', now: new Date(T0), targets: strict }), isUrlRefusal);
    // With no policy given, the default is public only.
    await assert.rejects(createEndpoint(tdb.db, { url: 'http://127.0.0.1/', event_types: ['*'], now: new Date(T0) }), isUrlRefusal);
    // The development setting allows private and loopback targets.
    await createEndpoint(tdb.db, { url: 'http://localhost:9/', event_types: ['*'], now: new Date(T0), targets: { allowPrivate: true } });
    await assert.rejects(createEndpoint(tdb.db, { url: 'http://224.0.0.1/', event_types: ['*'], now: new Date(T0), targets: { allowPrivate: true } }), isUrlRefusal);
  });
});

describe('delivery checks the resolved address every time, and connects to it', () => {
  let tdb: TestDb;
  let server: Server;
  let port: number;
  const hits: string[] = [];
  before(async () => {
    tdb = await createTestDatabase('pglite');
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      req.resume();
      if (req.url === '/redirect') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/target` });
        return res.end('moved');
      }
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await tdb?.drop();
  });

  async function deliverOnce(url: string, registerWith: AddressPolicy, deliverWith: AddressPolicy) {
    for (const e of await listEndpoints(tdb.db)) await deleteEndpoint(tdb.db, e.id);
    const clock = manualClock(T0);
    const ep = await createEndpoint(tdb.db, { url, event_types: ['*'], now: clock.now(), targets: registerWith });
    await fanOutEvents(tdb.db, clock.now());
    await tdb.db.query(`INSERT INTO events (account_id, subscription_id, invoice_id, type, data, occurred_at) VALUES ('acct_1', 'sub_1', 'inv_1', 'invoice.paid', '{}', $1)`, [clock.now()]);
    await fanOutEvents(tdb.db, clock.now());
    const round = await createWebhookDeliverer({ db: tdb.db, clock, targets: deliverWith }).runOnce();
    const [d] = await listDeliveries(tdb.db, ep.id);
    return { round, d };
  }

  test('a name public at registration that resolves to loopback at delivery (rebinding) is not contacted', async () => {
    hits.length = 0;
    const register = { allowPrivate: false, resolve: names({ 'rebind.example': ['93.184.216.34'] }) };
    const deliver = { allowPrivate: false, resolve: names({ 'rebind.example': ['127.0.0.1'] }) };
    const { round, d } = await deliverOnce(`http://rebind.example:${port}/hooks`, register, deliver);
    assert.equal(round.retrying, 1);
    assert.equal(d.last_status_code, null);
    assert.match(d.last_error!, /^not sent: rebind\.example resolves to a loopback address \(webhooks go to public addresses only\)$/);
    assert.deepEqual(hits, []);
  });

  test('an endpoint stored at a literal private address (allowed then) is refused at delivery when it no longer is', async () => {
    hits.length = 0;
    const { d } = await deliverOnce(`http://127.0.0.1:${port}/hooks`, { allowPrivate: true }, { allowPrivate: false });
    assert.match(d.last_error!, /^not sent: 127\.0\.0\.1 is a loopback address/);
    assert.deepEqual(hits, []);
  });

  test('the connection goes to the address the check resolved (a name no DNS knows reaches the receiver)', async () => {
    hits.length = 0;
    const dev = { allowPrivate: true, resolve: names({ 'receiver.example': ['127.0.0.1'] }) };
    const { round, d } = await deliverOnce(`http://receiver.example:${port}/hooks`, dev, dev);
    assert.equal(round.succeeded, 1, d.last_error ?? '');
    assert.deepEqual(hits, ['/hooks']);
  });

  test('a redirect is not followed: the 3xx is the answer, recorded as a failure', async () => {
    hits.length = 0;
    const { round, d } = await deliverOnce(`http://127.0.0.1:${port}/redirect`, { allowPrivate: true }, { allowPrivate: true });
    assert.equal(round.retrying, 1);
    assert.equal(d.last_status_code, 302);
    assert.match(d.last_error!, /^HTTP 302/);
    assert.deepEqual(hits, ['/redirect']);
  });
});

test('the API refuses a private endpoint unless RENEWD_WEBHOOK_ALLOW_PRIVATE is set', async () => {
  const t = await startTestService({ config: { webhookAllowPrivate: false } });
  try {
    for (const url of [t.url + '/v1/accounts', 'http://127.0.0.1:5432/', 'http://[::1]/', 'http://169.254.169.254/']) {
      const r = await t.api('POST', '/v1/webhook-endpoints', { url, event_types: ['*'] });
      assert.equal(r.status, 400, url);
      assert.equal(r.body.code, 'validation_error');
      assert.equal(r.body.errors[0].field, 'url');
    }
    assert.equal((await t.api('GET', '/v1/webhook-endpoints')).body.data.length, 0);
  } finally {
    await t.close();
  }
});
