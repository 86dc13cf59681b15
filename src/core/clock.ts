// The one source of "now". Everything that needs the time receives a Clock, so a test clock can
// drive the whole engine (and the sandbox's card expiry) without sleeping.
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
