// Admin keys: who can operate renewd. Create a named key (shown once, on the answer page itself:
// never put in a flash, a redirect or a log), see when each was last used, revoke one. The same
// commands as /v1/admin-keys and `renewd keys`.
import type { FastifyInstance } from 'fastify';
import { CommandError } from '../../core/errors.ts';
import { createAdminKey, listKeys, revokeAdminKey, type AdminKeyView, type NewAdminKey } from '../../engine/admin-keys.ts';
import { forgetAdminKeys } from '../../http/auth.ts';
import { html, str, type Body, type Html } from '../html.ts';
import { hidden } from '../layout.ts';
import { badge, when } from './format.ts';
import type { ConsoleFrame } from './index.ts';

export function keysRoutes(app: FastifyInstance, c: ConsoleFrame) {
  app.get(
    '/console/keys',
    c.guard(async (_req, reply, s) => c.show(reply, { title: 'Admin keys', s, active: 'keys', flash: c.takeFlash(s), body: keysView(await listKeys(c.ctx.db), s.csrf, null) })),
  );

  // Answered directly (no redirect): the new key is on this one page and nowhere else.
  app.post(
    '/console/keys',
    c.guard(async (req, reply, s) => {
      let created: NewAdminKey | null = null;
      let error: string | null = null;
      try {
        created = await createAdminKey(c.ctx.db, str((req.body as Body).name));
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        error = err.message;
      }
      reply.header('cache-control', 'no-store');
      const flash = error ? { kind: 'error' as const, text: error, fields: { 'key-name': 'Give the key a name (1 to 64 characters).' } } : null;
      return c.show(reply, { title: 'Admin keys', s, active: 'keys', flash, body: keysView(await listKeys(c.ctx.db), s.csrf, created) }, error ? 400 : 200);
    }),
  );

  app.post(
    '/console/keys/:id/revoke',
    c.act(
      () => '/console/keys',
      async (req) => {
        const k = await revokeAdminKey(c.ctx.db, (req.params as { id: string }).id);
        forgetAdminKeys(c.ctx.db);
        return { kind: 'success', text: `Key “${k.name}” (${k.id}) is revoked: it no longer works, and consoles signed in with it are signed out.` };
      },
    ),
  );
}

const SOURCES: Record<AdminKeyView['source'], string> = {
  environment: 'RENEWD_ADMIN_KEY',
  generated: 'first start',
  operator: 'created here or by API/CLI',
  legacy: 'stored before keys had names',
};

export function keysView(keys: AdminKeyView[], csrf: string, created: NewAdminKey | null): Html {
  const fresh = created
    ? html`<section class="panel banner banner-ok" aria-labelledby="new-key-title" id="new-key"><h2 id="new-key-title">New key “${created.name}”</h2>
<p><strong>Copy it now:</strong> only its hash is stored, it cannot be shown again.</p>
<p><code class="secret" id="new-key-value">${created.key}</code></p></section>`
    : '';
  return html`<h1>Admin keys</h1>
<p class="muted">Keys that operate renewd (the API with <code>Authorization: Bearer …</code>, and this console). Only their SHA-256 is stored. A new <code>RENEWD_ADMIN_KEY</code> revokes the previous one at the next start.</p>
${fresh}
<div class="table-wrap" role="region" aria-label="Admin keys" tabindex="0"><table class="data"><thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">From</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>
${keys.map(
  (k) => html`<tr><td>${k.name}</td><td><code>${k.id}</code>${k.last4 ? html` <span class="muted">…${k.last4}</span>` : ''}</td><td>${SOURCES[k.source]}</td><td>${when(k.created_at)}</td><td>${k.last_used_at ? when(k.last_used_at) : '—'}</td>
<td>${badge(k.active ? 'active' : 'revoked')}</td>
<td>${k.active ? html`<form method="post" action="/console/keys/${k.id}/revoke">${hidden('_csrf', csrf)}<button type="submit" class="btn btn-danger" aria-label="Revoke ${k.name} (${k.id})">Revoke</button></form>` : ''}</td></tr>`,
)}</tbody></table></div>
<section class="panel" aria-labelledby="create-key-title"><h2 id="create-key-title">Create a key</h2>
<form method="post" action="/console/keys">${hidden('_csrf', csrf)}
<div class="field"><label for="key-name">Name</label><span class="hint" id="key-name-hint">What will use it, e.g. “billing-sync job” or a person's name.</span>
<input id="key-name" name="name" maxlength="64" required aria-describedby="key-name-hint"></div>
<button type="submit" class="btn">Create key</button></form></section>`;
}
