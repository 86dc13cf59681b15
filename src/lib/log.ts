// Loggers for the background loops (engine, e-mail sender, webhook deliverer). The HTTP server has
// Fastify's own pino logger; the loops get one made from the same option the service was given.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** The service's logger option: false/undefined (quiet), true, or pino options with an optional stream. */
export type LoggerOption = boolean | { level?: string; stream?: DestinationStream; [k: string]: unknown } | undefined;

let quiet: Logger | null = null;

/**
 * A pino logger for the option. With logging off, errors still reach stderr (a loop that keeps
 * failing must not fail silently), synchronously so a line written just before exit is not lost.
 */
export function createLogger(option: LoggerOption): Logger {
  if (!option) return (quiet ??= pino({ level: 'error' }, pino.destination({ dest: 2, sync: true })));
  if (option === true) return pino();
  const { stream, ...rest } = option;
  return stream ? pino(rest, stream) : pino(rest);
}
