// The supported runtime: Node.js of the major that package.json's `engines` declares (the current
// Active LTS). `npm ci` brings it from the npm registry as the `node` package (node_modules/.bin/node),
// and npm puts node_modules/.bin first on PATH for `npm start`, `npm test` and `npm run …`, so a
// machine whose own Node.js is older still runs renewd on the declared one.
//
// Plain JavaScript on purpose: an older Node.js must be able to load this file (it cannot load the
// TypeScript sources) to say what is wrong instead of failing on a `.ts` extension. Loaded first by
// every entry point: bin/renewd.js, scripts/run-tests.mjs, and `--import` in the bench/chaos scripts.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** The declared range, e.g. "^26.10.0", and its lowest version as [major, minor, patch]. */
export const DECLARED_RANGE = pkg.engines.node;
export const DECLARED_MIN = DECLARED_RANGE.replace(/^[\^~>=\s]+/, '').split('.').map(Number);
export const DECLARED_MAJOR = DECLARED_MIN[0];

/** Whether `version` ("26.10.0" or "v26.10.0") satisfies the declared caret range. */
export function supported(version) {
  const v = version.replace(/^v/, '').split('.').map(Number);
  if (v[0] !== DECLARED_MAJOR) return false;
  for (let i = 1; i < 3; i++) if (v[i] !== DECLARED_MIN[i]) return v[i] > DECLARED_MIN[i];
  return true;
}

export function unsupportedMessage(version = process.version, execPath = process.execPath) {
  return [
    `renewd runs on Node.js ${DECLARED_MAJOR} (package.json engines: "${DECLARED_RANGE}"); this is Node.js ${version} (${execPath}).`,
    `\`npm ci\` installs Node.js ${DECLARED_MIN.join('.')} from the npm registry as node_modules/.bin/node, and npm start, npm test and npm run use it.`,
    `If node_modules/.bin/node is missing, \`npm ci\` could not install the \`node\` package for this platform (see its output):`,
    `install Node.js ${DECLARED_MAJOR} yourself (the version is in .nvmrc), or start renewd through npm (npm start, npm run renewd -- …) rather than with a bare \`node\`.`,
  ].join('\n');
}

/** Exits with the message above when the running Node.js is not the declared one. */
export function requireSupportedNode() {
  if (supported(process.version)) return;
  console.error(unsupportedMessage());
  process.exit(1);
}

requireSupportedNode();
