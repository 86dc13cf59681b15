// The test clock on the dashboard (only when renewd runs with RENEWD_TEST_CLOCK=1): advancing it
// runs all the due work on the way, as the API's POST /v1/test-clock/advance does.
import type { FastifyInstance } from 'fastify';
import { advanceClock } from '../../engine/test-clock.ts';
import { html, str, type Body, type Html } from '../html.ts';
import { hidden } from '../layout.ts';
import { when } from './format.ts';
import type { ConsoleFrame } from './index.ts';

export function clockRoutes(app: FastifyInstance, c: ConsoleFrame) {
  const { ctx } = c;
  app.post(
    '/console/test-clock/advance',
    c.act(
      () => '/console',
      async (req) => {
        if (!ctx.testClock) return { kind: 'error', text: 'The test clock is off (start renewd with RENEWD_TEST_CLOCK=1).' };
        const days = Number(str((req.body as Body).days));
        if (!Number.isFinite(days) || days <= 0 || days > 3660) return { kind: 'error', text: 'Give a number of days from 0.01 to 3660.' };
        // The API's command: one advance at a time per clock, whoever asks (API, console, CLI).
        const r = await advanceClock(ctx, { days });
        return { kind: 'success', text: `Test clock advanced by ${days} day${days === 1 ? '' : 's'} to ${when(r.now)} (${r.steps} steps of due work).` };
      },
    ),
  );
}

export function clockPanel(now: Date, csrf: string): Html {
  return html`<section class="panel" aria-labelledby="clock-title"><h2 id="clock-title">Test clock</h2>
<p>Now: <strong id="clock-now">${when(now)}</strong>. Advancing runs every renewal, retry, reminder, downgrade, e-mail and webhook due on the way.</p>
<form method="post" action="/console/test-clock/advance" class="row">${hidden('_csrf', csrf)}
<div class="field"><label for="advance-days">Advance by (days)</label><input type="number" id="advance-days" name="days" min="0.01" max="3660" step="any" value="1" required></div>
<div class="field actions"><button type="submit" class="btn">Advance time</button></div></form></section>`;
}
