// The renewd API as `renewd start` serves it (core API and the CLI's route plugins, no worker),
// against the benchmark's PostgreSQL database, for the access-check load test.
import { loadConfig, type Config } from '../src/config.ts';
import { startService } from '../src/service.ts';
import { onParent, toParent } from './lib/util.ts';

const p = (await onParent('params')).params as { url: string; port: number; adminKey: string };
const config: Config = {
  ...loadConfig({}),
  databaseUrl: p.url,
  port: p.port,
  host: '127.0.0.1',
  adminKey: p.adminKey,
  sandboxPort: 0,
  worker: false,
  logLevel: 'warn',
};
let plugins: any[] = [];
try {
  plugins = await (await import('../src/cli/plugins.ts')).cliPlugins();
} catch (err) {
  console.error(`access-server: serving the core API only (${(err as Error).message})`);
}
const svc = await startService(config, { plugins, worker: false, logger: false });
toParent({ type: 'ready', url: svc.url });
await onParent('exit');
await svc.stop();
process.exit(0);
