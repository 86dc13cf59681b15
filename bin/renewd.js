#!/usr/bin/env node
// `npx renewd …` / `npm run renewd -- …` / `npm start`: checks the runtime (a clear message on an
// older Node.js, which cannot load TypeScript), then runs the TypeScript sources directly: Node.js
// strips the types itself (no build step, no loader). Node.js does not strip types of files under
// node_modules, so renewd runs from its own checkout, not as an installed dependency.
import '../scripts/runtime.mjs';
await import('../src/cli/main.ts');
