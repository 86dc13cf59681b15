// Finds the cases test/core/period.test.ts uses against core/time.ts's offset cache: every zone's
// offset changes from 1800 to 2100 (Temporal, as Node.js ships it) that fall inside a quarter hour,
// and those where a cache checking the wrong instant would be fooled (mutation testing's survivors):
//   "88": the offset after the change equals the zone's offset in 1970 (the mutant q / QUARTER);
//   "89": the offset before the change equals the zone's offset in 1970 (the mutant (q + 1) / QUARTER).
// Usage: node scripts/zone-transitions.mjs
const Q = 15 * 60_000;
const offset = (tz, ms) => Temporal.Instant.fromEpochMilliseconds(Math.floor(ms)).toZonedDateTimeISO(tz).offsetNanoseconds / 1e6;
const inside = [];
const found = { 88: [], 89: [] };
for (const tz of Intl.supportedValuesOf('timeZone')) {
  let z = Temporal.Instant.fromEpochMilliseconds(Date.UTC(1800, 0, 1)).toZonedDateTimeISO(tz);
  for (;;) {
    const next = z.getTimeZoneTransition('next');
    if (!next || next.epochMilliseconds > Date.UTC(2100, 0, 1)) break;
    const t = next.epochMilliseconds;
    if (t % Q !== 0) {
      const q = Math.floor(t / Q);
      const before = offset(tz, t - 1);
      const after = offset(tz, t);
      inside.push(tz);
      if (offset(tz, q / Q) === after) found[88].push(`${tz} ${new Date(t).toISOString()}`);
      if (offset(tz, (q + 1) / Q) === before) found[89].push(`${tz} ${new Date(t).toISOString()}`);
    }
    z = next;
  }
}
console.log(`${inside.length} changes inside a quarter hour; fooling q / QUARTER: ${found[88].length} (e.g. ${found[88][0] ?? '—'}); fooling (q + 1) / QUARTER: ${found[89].length} (e.g. ${found[89][0] ?? '—'})`);
