// The log output of the whole suite, for the secrets grep of `npm test` (scripts/log-grep.mjs):
// when RENEWD_TEST_LOG_DIR is set (scripts/run-tests.mjs sets it), every service a test starts logs
// at level trace to a file of that folder, and tests that run renewd as a child process append its
// output there too. Without the variable nothing is logged (as before).
import { appendFileSync, createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';

let stream: WriteStream | null = null;

/** A pino logger option for a service started by a test: trace to the suite's log folder, or none. */
export function suiteLogger(): false | { level: string; stream: WriteStream } {
  const dir = process.env.RENEWD_TEST_LOG_DIR;
  if (!dir) return false;
  stream ??= createWriteStream(join(dir, `service-${process.pid}.log`), { flags: 'a' });
  return { level: 'trace', stream };
}

/** Appends what a child process of a test printed (a worker, the CLI) to the suite's log folder. */
export function appendSuiteLog(name: string, text: string): void {
  const dir = process.env.RENEWD_TEST_LOG_DIR;
  if (!dir || !text) return;
  appendFileSync(join(dir, `${name}-${process.pid}.log`), text.endsWith('\n') ? text : `${text}\n`);
}
