// The one polling loop of the background work (engine, e-mail sender, webhook deliverer): a tick at
// start, then one intervalMs after each tick ends (ticks never overlap), errors logged with the
// loop's name and followed by a growing pause, and a stop() that lets the running tick finish.
import { createLogger, type Logger } from './log.ts';

/** The timer functions the poller uses; tests pass fakes (no real waiting). */
export interface PollerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface PollerOptions {
  /** Named in every log line (e.g. 'engine', 'mail', 'webhooks'). */
  name: string;
  /** Pause between the end of one tick and the start of the next. */
  intervalMs: number;
  /** One round of work. `signal` aborts when stop() is called: stop claiming, finish what is claimed. */
  tick: (signal: AbortSignal) => Promise<unknown>;
  logger?: Logger;
  /** Longest pause after consecutive failures (default: 60 s, or intervalMs if longer). */
  maxBackoffMs?: number;
  timers?: PollerTimers;
}

export interface Poller {
  /** Starts polling (the first tick at once); a no-op while already polling. */
  start(): void;
  /** Stops polling and resolves once the tick in progress, if any, has finished. */
  stop(): Promise<void>;
  readonly polling: boolean;
}

const realTimers: PollerTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** The pause after `failures` failed ticks in a row: intervalMs doubled per failure, at most maxMs. */
export function backoffDelay(intervalMs: number, failures: number, maxMs: number): number {
  if (failures <= 0) return intervalMs;
  return Math.min(intervalMs * 2 ** Math.min(failures, 30), Math.max(maxMs, intervalMs));
}

export function createPoller(opts: PollerOptions): Poller {
  const timers = opts.timers ?? realTimers;
  const log = (opts.logger ?? createLogger(false)).child({ loop: opts.name });
  const maxBackoffMs = opts.maxBackoffMs ?? 60_000;
  let timer: unknown = null;
  let running: Promise<void> | null = null;
  let abort: AbortController | null = null;
  let failures = 0;

  /** One loop's next tick; `signal` is that loop's (a stop() then start() begins a new loop). */
  const schedule = (signal: AbortSignal, ms: number) => {
    timer = timers.setTimeout(() => {
      timer = null;
      const tick = runTick(signal);
      running = tick;
      void tick.then(() => {
        if (running === tick) running = null;
        if (!signal.aborted) schedule(signal, backoffDelay(opts.intervalMs, failures, maxBackoffMs));
      });
    }, ms);
  };

  async function runTick(signal: AbortSignal): Promise<void> {
    try {
      await opts.tick(signal);
      failures = 0;
    } catch (err) {
      failures++;
      const message = err instanceof Error ? err.message : String(err);
      log.error({ err: { message, stack: err instanceof Error ? err.stack : undefined }, failures }, `${opts.name} tick failed`);
    }
  }

  return {
    get polling() {
      return abort !== null && !abort.signal.aborted;
    },
    start() {
      if (abort && !abort.signal.aborted) return; // one loop per poller
      abort = new AbortController();
      failures = 0;
      schedule(abort.signal, 0);
    },
    async stop() {
      abort?.abort();
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      if (running) await running;
    },
  };
}
