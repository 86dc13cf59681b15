// Backs two lines of docs/MUTATION.md about core/time.ts's offset cache. It lists every zone's
// offset changes from 1800 to 2100 (Temporal, as Node.js ships it) that fall inside a quarter hour
// (the cache must never serve one side's offset to the other; test/core/period.test.ts reads such
// quarters in Paris 1911, Abidjan 1912 and Monrovia 1972). The mutants that check the wrong
// instant, `q / QUARTER` and `(q + 1) / QUARTER`, ask Intl about an instant with a fraction of a
// millisecond unless q (or q + 1) is a multiple of QUARTER, one quarter hour in about 25.7 years;
// such an instant's offset reads with that fraction and never equals a real offset, so the quarter
// is not cached and the answer stays right. They could only go wrong in a quarter at such a
// multiple that holds a change: this script counts those (0 means the mutants are equivalent).
// Usage: node scripts/zone-transitions.mjs
const Q = 15 * 60_000;
let inside = 0;
const whole = [];
for (const tz of Intl.supportedValuesOf('timeZone')) {
  let z = Temporal.Instant.fromEpochMilliseconds(Date.UTC(1800, 0, 1)).toZonedDateTimeISO(tz);
  for (;;) {
    const next = z.getTimeZoneTransition('next');
    if (!next || next.epochMilliseconds > Date.UTC(2100, 0, 1)) break;
    const t = next.epochMilliseconds;
    if (t % Q !== 0) {
      inside++;
      const q = Math.floor(t / Q);
      if (q % Q === 0 || (q + 1) % Q === 0) whole.push(`${tz} ${new Date(t).toISOString()}`);
    }
    z = next;
  }
}
console.log(`${inside} offset changes inside a quarter hour; in a quarter where a wrong-instant mutant reads a whole millisecond: ${whole.length}${whole.length ? ` (${whole.join(', ')})` : ''}`);
