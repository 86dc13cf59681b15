// Memory: the idle RSS of `renewd start --demo` on PGlite (temporary data directory, free ports;
// sampled once /health answers and the demo history has been played), against the idle RSS of a
// bare Fastify process measured in the same run. Worker peak RSS during billing day comes from the
// billing scenario (VmHWM of each worker process).
import { mkdtemp, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, log, median, rssOf, sleep, spawnChild, waitForHttp, ROOT } from '../lib/util.ts';
import type { Options } from '../main.ts';

export interface MemoryResult {
  runs: { round: number; demoIdleRssMb: number; demoPeakRssMb: number; demoStartS: number; bareIdleRssMb: number }[];
  summary: { demoIdleRssMb: number; demoPeakRssMb: number; demoStartS: number; bareIdleRssMb: number; ratio: number };
}

async function demoOnce(settleMs: number) {
  const dir = await mkdtemp(path.join(tmpdir(), 'renewd-bench-demo-'));
  const port = await freePort();
  const sport = await freePort();
  const env: Record<string, string | undefined> = { ...process.env, RENEWD_DATA_DIR: dir, PORT: String(port), RENEWD_SANDBOX_PORT: String(sport), LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  const t0 = performance.now();
  const proc = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), 'start', '--demo'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  try {
    await waitForHttp(`http://127.0.0.1:${port}/health`, 300_000);
    // /health answers before the demo history is loaded; wait for the banner.
    const until = Date.now() + 300_000;
    while (!out.includes('renewd is running on') && Date.now() < until) {
      if (proc.exitCode !== null) throw new Error(`renewd start --demo exited: ${out.slice(-2000)}`);
      await sleep(200);
    }
    const startS = (performance.now() - t0) / 1000;
    await sleep(settleMs);
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      samples.push(rssOf(proc.pid!).rssMb);
      await sleep(500);
    }
    return { idle: median(samples), peak: rssOf(proc.pid!).peakMb, startS };
  } finally {
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
    clearTimeout(t);
    await rm(dir, { recursive: true, force: true });
  }
}

async function bareOnce(settleMs: number) {
  const c = spawnChild('bare-server.ts');
  try {
    const r = c.next('ready');
    c.send({ type: 'params', params: { port: await freePort() } });
    const { url } = await r;
    await fetch(`${url}/health`);
    await sleep(settleMs);
    return rssOf(c.pid).rssMb;
  } finally {
    c.send({ type: 'exit' });
    await c.kill();
  }
}

export async function runMemory(o: Options): Promise<MemoryResult> {
  const runs: MemoryResult['runs'] = [];
  const settle = o.quick ? 1500 : 5000;
  for (let round = 1; round <= o.runs; round++) {
    const d = await demoOnce(settle);
    const b = await bareOnce(settle);
    runs.push({ round, demoIdleRssMb: d.idle, demoPeakRssMb: d.peak, demoStartS: d.startS, bareIdleRssMb: b });
    log(`memory ${round}/${o.runs}: renewd start --demo (PGlite) idle ${d.idle.toFixed(0)} MB (peak ${d.peak.toFixed(0)} MB, ready in ${d.startS.toFixed(1)} s) | bare Fastify ${b.toFixed(0)} MB`);
  }
  const m = (f: (r: MemoryResult['runs'][number]) => number) => median(runs.map(f));
  return {
    runs,
    summary: { demoIdleRssMb: m((r) => r.demoIdleRssMb), demoPeakRssMb: m((r) => r.demoPeakRssMb), demoStartS: m((r) => r.demoStartS), bareIdleRssMb: m((r) => r.bareIdleRssMb), ratio: m((r) => r.demoIdleRssMb / r.bareIdleRssMb) },
  };
}
