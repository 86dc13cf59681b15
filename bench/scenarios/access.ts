// Access check under load: GET /v1/accounts/{id}/access on the renewd API (admin key, random
// account among 100k, PostgreSQL) against a bare Fastify route returning a constant JSON body,
// measured alternately in the same round with the same load generator settings.
import autocannon from 'autocannon';
import { dropDatabase, PREFIX, seedDatabase, accountId } from '../lib/pg.ts';
import { freePort, log, median, progress, spawnChild, fmt, rssOf, cpuOf } from '../lib/util.ts';
import type { Options } from '../main.ts';

export interface AccessSample {
  requestsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  serverCpuS: number;
  serverRssMb: number;
}

export interface AccessResult {
  accounts: number;
  connections: number;
  durationS: number;
  runs: { round: number; renewd: AccessSample; bare: AccessSample }[];
  summary: { renewd: AccessSample; bare: AccessSample; ratio: number };
}

const ADMIN_KEY = 'rk_bench_admin_key_0123456789abcdef';

async function load(url: string, accounts: number, o: Options, label: string, pid: number): Promise<AccessSample> {
  const run = (duration: number) =>
    new Promise<autocannon.Result>((resolve, reject) => {
      const inst = autocannon(
        {
          url,
          connections: o.connections,
          duration,
          headers: { authorization: `Bearer ${ADMIN_KEY}` },
          requests: [{ method: 'GET', setupRequest: (req: any) => ({ ...req, path: `/v1/accounts/${accountId(1 + Math.floor(Math.random() * accounts))}/access` }) }],
        },
        (err, res) => (err ? reject(err) : resolve(res)),
      );
      let n = 0;
      const t0 = Date.now();
      inst.on('response', () => {
        n++;
        if (n % 500 === 0) progress(`${label}: ${fmt(n / Math.max(0.001, (Date.now() - t0) / 1000))} req/s`);
      });
    });
  await run(Math.max(1, Math.round(o.accessS / 4))); // warm-up (JIT, pool, caches)
  const cpu0 = cpuOf(pid);
  const r = await run(o.accessS);
  return {
    requestsPerSecond: r.requests.mean,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    serverCpuS: cpuOf(pid) - cpu0,
    serverRssMb: rssOf(pid).rssMb,
  };
}

export async function runAccess(o: Options): Promise<AccessResult> {
  const accounts = o.accessAccounts;
  const name = `${PREFIX}_access`;
  const url = await seedDatabase(name, { due: 0, notDue: accounts, now: new Date() }, 'access seed');
  const runs: AccessResult['runs'] = [];
  try {
    const renewd = spawnChild('access-server.ts', [], {}, o.profile ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}/access-server`] : []);
    const bare = spawnChild('bare-server.ts');
    try {
      const rp = renewd.next('ready', 120_000);
      renewd.send({ type: 'params', params: { url, port: await freePort(), adminKey: ADMIN_KEY } });
      const bp = bare.next('ready', 60_000);
      bare.send({ type: 'params', params: { port: await freePort() } });
      const [{ url: rurl }, { url: burl }] = await Promise.all([rp, bp]);
      // Sanity: the route answers for a seeded account.
      const probe = await fetch(`${rurl}/v1/accounts/${accountId(1)}/access`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      if (probe.status !== 200) throw new Error(`access check answered ${probe.status}: ${await probe.text()}`);
      for (let round = 1; round <= o.runs; round++) {
        // Alternate the order so drift on a noisy machine does not favour one side.
        const first = round % 2 ? 'renewd' : 'bare';
        const s: Partial<Record<'renewd' | 'bare', AccessSample>> = {};
        for (const which of first === 'renewd' ? (['renewd', 'bare'] as const) : (['bare', 'renewd'] as const)) {
          s[which] = await load(which === 'renewd' ? rurl : burl, accounts, o, `access ${round}/${o.runs} ${which}`, which === 'renewd' ? renewd.pid : bare.pid);
        }
        runs.push({ round, renewd: s.renewd!, bare: s.bare! });
        log(
          `access ${round}/${o.runs}: renewd ${fmt(s.renewd!.requestsPerSecond)} req/s p50 ${s.renewd!.p50} ms p99 ${s.renewd!.p99} ms (non-2xx ${s.renewd!.non2xx}) | bare Fastify ${fmt(s.bare!.requestsPerSecond)} req/s p99 ${s.bare!.p99} ms`,
        );
      }
    } finally {
      renewd.send({ type: 'exit' });
      bare.send({ type: 'exit' });
      await Promise.all([renewd.kill(), bare.kill()]);
    }
  } finally {
    await dropDatabase(name);
  }
  const med = (k: 'renewd' | 'bare'): AccessSample => {
    const xs = runs.map((r) => r[k]);
    const m = (f: (a: AccessSample) => number) => median(xs.map(f));
    return {
      requestsPerSecond: m((a) => a.requestsPerSecond),
      p50: m((a) => a.p50),
      p90: m((a) => a.p90),
      p99: m((a) => a.p99),
      max: m((a) => a.max),
      non2xx: xs.reduce((a, b) => a + b.non2xx, 0),
      errors: xs.reduce((a, b) => a + b.errors, 0),
      serverCpuS: m((a) => a.serverCpuS),
      serverRssMb: m((a) => a.serverRssMb),
    };
  };
  return {
    accounts,
    connections: o.connections,
    durationS: o.accessS,
    runs,
    summary: { renewd: med('renewd'), bare: med('bare'), ratio: median(runs.map((r) => r.renewd.requestsPerSecond / r.bare.requestsPerSecond)) },
  };
}
