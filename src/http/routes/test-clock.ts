// The test clock over HTTP (only when enabled): move time forward and get an answer once every
// renewal, retry, reminder, downgrade, e-mail and webhook due by then has run.
import type { RoutePlugin } from '../route-plugin.ts';
import { requireAdmin } from '../auth.ts';
import { CommandError } from '../../core/errors.ts';
import { advanceTestClock } from '../../engine/advance.ts';
import { DAY } from '../../core/time.ts';
import { adminSecurity, dateTime, problemResponses } from '../schemas.ts';

export const testClockRoutes: RoutePlugin = async (app, { ctx }) => {
  const clockOut = { type: 'object', properties: { now: dateTime, enabled: { type: 'boolean' } } } as const;
  // One advance at a time: two callers moving time at once would interleave their work.
  let queue: Promise<unknown> = Promise.resolve();

  app.get('/v1/test-clock', {
    preValidation: requireAdmin,
    schema: { tags: ['test clock'], summary: 'The current (test) time', security: adminSecurity, response: { 200: clockOut } },
  }, async () => ({ now: ctx.clock.now(), enabled: !!ctx.testClock }));

  app.post('/v1/test-clock/advance', {
    preValidation: requireAdmin,
    schema: {
      tags: ['test clock'],
      summary: 'Advance the test clock and run everything due up to then',
      security: adminSecurity,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: { to: dateTime, days: { type: 'number', exclusiveMinimum: 0, maximum: 3660 }, hours: { type: 'number', exclusiveMinimum: 0, maximum: 87840 } },
        example: { days: 31 },
      },
      response: { 200: { type: 'object', properties: { now: dateTime, steps: { type: 'integer' } } }, ...problemResponses, 409: { $ref: 'Problem#' } },
    },
  }, async (req) => {
    const tc = ctx.testClock;
    if (!tc) throw new CommandError('conflict', 'test_clock_disabled', 'start renewd with RENEWD_TEST_CLOCK=1 to use the test clock');
    const b = req.body;
    const given = [b.to, b.days, b.hours].filter((x) => x !== undefined).length;
    if (given !== 1) throw new CommandError('invalid', 'validation_error', 'send exactly one of: to, days, hours');
    const run = queue.then(async () => {
      const now = tc.now().getTime();
      const to = b.to ? new Date(b.to) : new Date(now + (b.days ?? 0) * DAY + (b.hours ?? 0) * 3_600_000);
      if (to.getTime() < now) throw new CommandError('conflict', 'test_clock_backwards', `the test clock is at ${tc.now().toISOString()} and only moves forward`);
      return advanceTestClock(ctx.db, tc, to, ctx.runners);
    });
    queue = run.catch(() => {});
    return run;
  });
};
