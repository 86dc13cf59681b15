// `renewd sandbox`: the sandbox PSP on its own, for developing against a Stripe-compatible API.
import { systemClock, type Clock } from '../core/clock.ts';
import { createSandbox, type Sandbox, type SandboxOptions } from './server.ts';

export { createSandbox } from './server.ts';
export type { Sandbox, SandboxOptions, SandboxStats, FaultConfig, FaultInput, ScriptStep, ScriptTarget, SandboxCharge } from './server.ts';

export interface RunSandboxOptions extends Omit<SandboxOptions, 'clock'> {
  port?: number;
  host?: string;
  clock?: Clock;
}

/** Starts the sandbox listening (default 127.0.0.1:12111); answers its URL and a way to stop it. */
export async function runSandbox(opts: RunSandboxOptions = {}): Promise<{ url: string; sandbox: Sandbox; close(): Promise<void> }> {
  const { port = 12111, host = '127.0.0.1', clock = systemClock, ...rest } = opts;
  const sandbox = createSandbox({ ...rest, clock });
  const url = await sandbox.listen(port, host);
  return { url, sandbox, close: () => sandbox.close() };
}
