// Failed authentication, throttled per client address, for the API and the console's sign-in.
// A correct key is never refused: only wrong keys and tokens count, and only they are answered
// 429 once an address has sent too many. (Keys are 192 random bits, so guessing is hopeless
// anyway; the throttle keeps a scanner from costing a database look-up per guess and makes the
// attempts visible.) The client address is Fastify's req.ip, which honours RENEWD_TRUST_PROXY.
// Wall-clock time: this is about people and scripts, not billing.

export interface FailureThrottle {
  /** Seconds until this address may try a wrong key again, or 0. */
  blockedFor(ip: string, now?: number): number;
  /** Records a wrong key from this address. */
  failed(ip: string, now?: number): void;
}

export function failureThrottle(opts: { limit?: number; windowMs?: number; maxAddresses?: number } = {}): FailureThrottle {
  const limit = opts.limit ?? 20;
  const windowMs = opts.windowMs ?? 60_000;
  const maxAddresses = opts.maxAddresses ?? 10_000;
  const failures = new Map<string, { count: number; since: number }>();
  const live = (ip: string, now: number) => {
    const f = failures.get(ip);
    if (f && now - f.since >= windowMs) {
      failures.delete(ip);
      return undefined;
    }
    return f;
  };
  return {
    blockedFor(ip, now = Date.now()) {
      const f = live(ip, now);
      return f && f.count >= limit ? Math.max(1, Math.ceil((f.since + windowMs - now) / 1000)) : 0;
    },
    failed(ip, now = Date.now()) {
      const f = live(ip, now);
      if (f) f.count++;
      else {
        // Bounded: a flood from many addresses forgets the oldest windows first.
        if (failures.size >= maxAddresses) failures.delete(failures.keys().next().value!);
        failures.set(ip, { count: 1, since: now });
      }
    },
  };
}
