// One process per PGlite data directory (issue 16). PGlite is PostgreSQL compiled into this
// process: two processes opening one directory each believe they own the files, and corrupt them.
// A lock file in the directory holds the owner's pid; another process finds it and stops with a
// message naming the owner. A lock left by a process that died (kill -9, a crash) names a pid that
// no longer runs, and is taken over.
//
// PostgreSQL (DATABASE_URL) is the way to run several processes on one database.
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

export const LOCK_FILE = 'renewd.lock';

interface LockInfo {
  pid: number;
  host: string;
  command: string;
  started_at: string;
}

export class DataDirLockedError extends Error {
  readonly owner: LockInfo;
  constructor(dir: string, lockFile: string, owner: LockInfo) {
    super(
      `the data directory ${dir} is in use by another renewd process (pid ${owner.pid} on ${owner.host}, "${owner.command}", since ${owner.started_at}). ` +
        `PGlite allows one process per data directory: stop that one first, or use PostgreSQL (DATABASE_URL) to run several processes. ` +
        `If no such process runs any more, delete ${lockFile}.`,
    );
    this.owner = owner;
    this.name = 'DataDirLockedError';
  }
}

/** Whether a process with this pid runs on this machine (EPERM: it runs, as another user). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): LockInfo | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockInfo>;
    return typeof v.pid === 'number' ? { pid: v.pid, host: String(v.host ?? ''), command: String(v.command ?? ''), started_at: String(v.started_at ?? '') } : null;
  } catch {
    return null; // gone in between, or not ours to read: not an owner
  }
}

/**
 * Takes the lock of `dir` for this process, or throws DataDirLockedError naming the process that
 * holds it. Returns the release (idempotent; also run at process exit).
 */
export function lockDataDir(dir: string, command = process.argv.slice(2).join(' ') || 'renewd'): () => void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const me: LockInfo = { pid: process.pid, host: hostname(), command, started_at: new Date().toISOString() };
  for (let tries = 0; tries < 3; tries++) {
    // Written aside, then linked in place: the lock appears whole or not at all (link refuses an
    // existing name), so no reader ever sees a half-written one.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(me));
    try {
      linkSync(tmp, file);
      unlinkSync(tmp);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        // Only our own lock: never one a later owner took over.
        if (readLock(file)?.pid === process.pid) unlinkSync(file);
      };
      process.on('exit', release);
      return release;
    } catch (err) {
      unlinkSync(tmp);
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readLock(file);
    // Held by a live process (this one included: a second open in one process is refused too).
    // A lock from another machine (a shared disk) cannot be checked: it is taken as held.
    if (owner && (owner.host !== me.host || running(owner.pid))) throw new DataDirLockedError(dir, file, owner);
    // Stale: its process is gone. Take it over.
    try {
      unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`could not take the lock ${file}`);
}
