// Wall-clock conversions, renewd's (Intl offsets cached per quarter hour, src/core/time.ts) against
// Temporal (shipped by Node.js 26), on the same instants: why the billing path keeps its own and
// Temporal serves as the test oracle (test/core/period.test.ts). Medians of 5 runs of 200,000
// round trips (instant → wall time → instant) over five zones.
//   node bench/time-zones.ts
import { fromWall, toWall, type WallTime } from '../src/core/time.ts';

const ZONES = ['Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'Europe/Warsaw', 'Australia/Sydney'];
const N = 200_000;
const BASE = Date.UTC(2026, 0, 1);

function temporalToWall(d: Date, timeZone: string): WallTime {
  const z = Temporal.Instant.fromEpochMilliseconds(d.getTime()).toZonedDateTimeISO(timeZone);
  return { year: z.year, month: z.month, day: z.day, hour: z.hour, minute: z.minute, second: z.second, ms: z.millisecond };
}
function temporalFromWall(w: WallTime, timeZone: string): Date {
  const z = Temporal.ZonedDateTime.from({ timeZone, year: w.year, month: w.month, day: w.day, hour: w.hour, minute: w.minute, second: w.second, millisecond: w.ms }, { disambiguation: 'compatible' });
  return new Date(z.epochMilliseconds);
}

function run(to: typeof toWall, from: typeof fromWall): number {
  const t0 = performance.now();
  let check = 0;
  for (let i = 0; i < N; i++) {
    const tz = ZONES[i % ZONES.length];
    const d = new Date(BASE + (i % 5000) * 7 * 3_600_000);
    check += from(to(d, tz), tz).getTime() === d.getTime() ? 1 : 0;
  }
  if (check !== N) throw new Error(`round trips lost: ${N - check}`);
  return performance.now() - t0;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const own: number[] = [];
const temporal: number[] = [];
for (let r = 0; r < 5; r++) {
  own.push(run(toWall, fromWall));
  temporal.push(run(temporalToWall, temporalFromWall));
}
const us = (ms: number) => ((ms * 1000) / N).toFixed(2);
console.log(`Node.js ${process.version}, ${N.toLocaleString('en')} round trips, median of 5`);
console.log(`renewd (Intl, cached offsets): ${median(own).toFixed(0)} ms (${us(median(own))} µs each)`);
console.log(`Temporal:                      ${median(temporal).toFixed(0)} ms (${us(median(temporal))} µs each)`);
console.log(`Temporal / renewd: ${(median(temporal) / median(own)).toFixed(1)}`);
