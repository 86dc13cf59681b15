// Small helpers of the benchmark suite: statistics, progress on stderr, child processes, RSS.
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT = path.dirname(BENCH_DIR);

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- progress display (stderr only; stdout stays clean) ----
const tty = process.stderr.isTTY;
let lastLine = '';
let lastDraw = 0;
export function progress(line: string, force = false) {
  const t = Date.now();
  if (!force && t - lastDraw < (tty ? 100 : 5000)) return;
  lastDraw = t;
  lastLine = line;
  if (tty) process.stderr.write(`\r\x1b[2K${line}`);
  else process.stderr.write(`${line}\n`);
}
export function log(line: string) {
  if (tty && lastLine) process.stderr.write('\r\x1b[2K');
  process.stderr.write(`${line}\n`);
  lastLine = '';
}
export function bar(done: number, total: number, width = 24) {
  const f = total > 0 ? Math.min(1, done / total) : 0;
  const n = Math.round(f * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}] ${(f * 100).toFixed(0).padStart(3)}%`;
}
export const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');

// ---- processes ----
export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Resolves with the first message of this type. */
  next<T = any>(type: string, timeoutMs?: number): Promise<T>;
  on(type: string, fn: (msg: any) => void): void;
  send(msg: unknown): void;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

/** Forks a TypeScript module of bench/ as its own Node process (types stripped by Node.js), with an IPC channel. */
export function spawnChild(module: string, args: string[] = [], env: Record<string, string> = {}, execArgv: string[] = []): Child {
  const proc = fork(path.join(BENCH_DIR, module), args, {
    // pg warns (once per process) about queries queued on a busy client: loadStates' Promise.all on one
    // transaction client. Harmless (pg queues them) and reported in bench/README.md; kept off the progress display.
    execArgv: ['--no-deprecation', ...execArgv],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const handlers = new Map<string, ((m: any) => void)[]>();
  const waiting = new Map<string, { resolve: (m: any) => void; reject: (e: Error) => void }[]>();
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  proc.on('message', (m: any) => {
    for (const fn of handlers.get(m?.type) ?? []) fn(m);
    const w = waiting.get(m?.type);
    if (w?.length) for (const x of w.splice(0)) x.resolve(m);
  });
  void exited.then((code) => {
    for (const [type, list] of waiting) for (const x of list.splice(0)) x.reject(new Error(`${module} exited (${code}) before "${type}"`));
  });
  return {
    proc,
    pid: proc.pid!,
    next(type, timeoutMs = 30 * 60_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${module}: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
        const list = waiting.get(type) ?? [];
        list.push({ resolve: (m) => (clearTimeout(t), resolve(m)), reject: (e) => (clearTimeout(t), reject(e)) });
        waiting.set(type, list);
      });
    },
    on(type, fn) {
      handlers.set(type, [...(handlers.get(type) ?? []), fn]);
    },
    send(msg) {
      if (proc.connected) proc.send(msg as any);
    },
    exited,
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      // A child that was told to exit gets a moment to do so (profiles are written at exit).
      await Promise.race([exited, sleep(5000)]);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Peak (VmHWM) and current (VmRSS) resident memory of a process, in MB. */
export function rssOf(pid: number): { peakMb: number; rssMb: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
    return { peakMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
  } catch {
    return { peakMb: NaN, rssMb: NaN };
  }
}

/** CPU time (user+system, seconds) a process has used so far. */
/** A process's name and CPU seconds (user + system) from /proc/<pid>/stat; null once it has ended. */
function procStat(pid: number | string): { comm: string; cpuS: number } | null {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return { comm: f.slice(f.indexOf('(') + 1, f.lastIndexOf(')')), cpuS: (Number(rest[11]) + Number(rest[12])) / 100 };
  } catch {
    return null;
  }
}

export function cpuOf(pid: number): number {
  return procStat(pid)?.cpuS ?? NaN;
}

/**
 * CPU seconds of every process named `postgres` on this machine, by pid (the local server's
 * postmaster, backends and background workers). Empty when the server runs elsewhere.
 */
export function postgresCpuByPid(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(name);
    if (st?.comm === 'postgres') out.set(Number(name), st.cpuS);
  }
  return out;
}

/** CPU seconds the local PostgreSQL used between two readings (backends that ended in between are missed). */
export function postgresCpuSince(before: Map<number, number>): number {
  let s = 0;
  for (const [pid, cpu] of postgresCpuByPid()) s += cpu - (before.get(pid) ?? 0);
  return s;
}

/** Whole-machine CPU jiffies from /proc/stat: busy and total, summed over all cores. */
export function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8');
  const v = f.slice(0, f.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user…steal (guest is counted in user)
  const idle = v[3] + v[4]; // idle + iowait
  return { busy: total - idle, total };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function waitForHttp(url: string, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {}
    if (Date.now() > until) throw new Error(`${url} not up within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** In a child: the parent's messages, by type. */
export function onParent(type: string): Promise<any> {
  return new Promise((resolve) => {
    const h = (m: any) => {
      if (m?.type === type) {
        process.off('message', h);
        resolve(m);
      }
    };
    process.on('message', h);
  });
}
export function toParent(msg: unknown) {
  process.send?.(msg as any);
}
