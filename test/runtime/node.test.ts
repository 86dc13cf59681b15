// The supported runtime (scripts/runtime.mjs): the suite runs on the Node.js major that package.json
// declares, every place that names the version agrees, and an older Node.js gets a clear message
// instead of a failure to load TypeScript.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DECLARED_MAJOR, DECLARED_MIN, DECLARED_RANGE, supported, unsupportedMessage } from '../../scripts/runtime.mjs';

const root = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

test('the suite runs on the declared Node.js major', () => {
  assert.equal(Number(process.versions.node.split('.')[0]), DECLARED_MAJOR, `running ${process.version}, package.json engines ${DECLARED_RANGE}`);
  assert.ok(supported(process.version));
});

test('engines, .nvmrc, .node-version and the node package name one version', () => {
  const pkg = JSON.parse(read('package.json'));
  const pinned = DECLARED_MIN.join('.');
  assert.equal(pkg.engines.node, `^${pinned}`);
  assert.equal(pkg.optionalDependencies.node, pinned);
  assert.equal(read('.nvmrc').trim(), pinned);
  assert.equal(read('.node-version').trim(), pinned);
  const lock = JSON.parse(read('package-lock.json'));
  assert.equal(lock.packages['node_modules/node'].version, pinned);
});

test('supported() takes the declared major at or above the pinned version only', () => {
  const [major, minor] = DECLARED_MIN;
  assert.equal(supported(`v${major}.${minor}.0`), true);
  assert.equal(supported(`${major}.${minor + 1}.3`), true);
  assert.equal(supported(`${major}.${minor - 1}.9`), false);
  assert.equal(supported('v20.20.2'), false);
  assert.equal(supported(`${major + 1}.0.0`), false);
  const msg = unsupportedMessage('v20.20.2', '/usr/bin/node');
  assert.match(msg, /runs on Node\.js \d+/);
  assert.match(msg, /v20\.20\.2 \(\/usr\/bin\/node\)/);
  assert.match(msg, /npm ci/);
});

// The machine's own Node.js, where it is older (as on the CI machines): the renewd command says what
// to do and exits 1, instead of a loader error about the `.ts` extension.
const system = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p));
test('an older Node.js running the renewd command gets the clear message', { skip: !system && 'no system Node.js' }, async (t) => {
  const { stdout } = await promisify(execFile)(system!, ['-p', 'process.version']);
  if (supported(stdout.trim())) return t.skip(`the machine's Node.js (${stdout.trim()}) is the supported one`);
  const run = promisify(execFile)(system!, [new URL('bin/renewd.js', root).pathname, 'help']);
  const err = await run.then(
    () => assert.fail('an older Node.js started renewd'),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(err.code, 1);
  assert.match(err.stderr, new RegExp(`renewd runs on Node\\.js ${DECLARED_MAJOR}`));
  assert.doesNotMatch(err.stderr, /ERR_UNKNOWN_FILE_EXTENSION/);
});
