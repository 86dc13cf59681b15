// The access check's reference: a bare Fastify route answering a constant JSON body, in its own
// process like the renewd API, on the same machine in the same run.
import Fastify from 'fastify';
import { onParent, toParent } from './lib/util.ts';

const p = (await onParent('params')).params as { port: number };
const app = Fastify({ logger: false });
const body = { plan_id: 'pro', paid: true, reason: 'active', until: '2026-12-25T05:00:00.000Z' };
app.get('/v1/accounts/:id/access', async () => body);
app.get('/health', async () => ({ ok: true }));
const url = await app.listen({ port: p.port, host: '127.0.0.1' });
toParent({ type: 'ready', url });
await onParent('exit');
await app.close();
process.exit(0);
