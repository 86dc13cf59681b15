// The test clock over HTTP (only when enabled): move time forward and get an answer once every
// renewal, retry, reminder, downgrade, e-mail and webhook due by then has run.
import type { RoutePlugin } from '../route-plugin.ts';
import { requireAdmin } from '../auth.ts';
import { advanceClock } from '../../engine/test-clock.ts';
import { adminSecurity, dateTime, problemResponses } from '../schemas.ts';

export const testClockRoutes: RoutePlugin = async (app, { ctx }) => {
  const clockOut = { type: 'object', properties: { now: dateTime, enabled: { type: 'boolean' } } } as const;

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
  }, async (req) => advanceClock(ctx, req.body));
};
