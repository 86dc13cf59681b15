// The layer rule keeps itself: a file of src/ imports only from its own part or from a lower layer
// (docs/ARCHITECTURE.md). Lowest first; parts on one line are siblings and do not import each other.
//   lib, core  ←  store, gateway, sandbox  ←  notify  ←  engine  ←  http  ←  web  ←  service.ts (the wiring)  ←  cli
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globSync, readFileSync } from 'node:fs';
import { join, dirname, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '../../src');

const LAYERS: Record<string, number> = {
  lib: 0, core: 0, 'config.ts': 0,
  store: 1, gateway: 1, sandbox: 1,
  notify: 2,
  engine: 3,
  http: 4,
  web: 5,
  'service.ts': 5.5,
  cli: 6,
};

/** The part a file of src/ belongs to: its first folder, or its own name at the top. */
const partOf = (file: string) => relative(SRC, file).split('/')[0];

/** Relative imports and re-exports of a file, static or dynamic, type-only included. */
function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)|(?:^|\n)\s*import\s+'(\.[^']+)'/g))
    out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

export function layerViolations(): string[] {
  const bad: string[] = [];
  for (const file of globSync('**/*.ts', { cwd: SRC }).map((f) => join(SRC, f))) {
    const from = partOf(file);
    assert.ok(from in LAYERS, `${relative(SRC, file)}: part "${from}" has no layer; add it to LAYERS and docs/ARCHITECTURE.md`);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(SRC + '/')) continue;
      const to = partOf(target);
      if (to === from) continue;
      if (!(LAYERS[to] < LAYERS[from])) bad.push(`${relative(SRC, file)} imports ${relative(SRC, target)} (${from} → ${to})`);
    }
  }
  return bad;
}

test('no file of src/ imports from a higher layer or a sibling part', () => {
  const bad = layerViolations();
  assert.deepEqual(bad, [], `imports against the layers:\n${bad.join('\n')}`);
});

test('the layer check sees an upward import', () => {
  assert.deepEqual(importsOf(`import { x } from '../http/auth.ts';\nimport type { Y } from './y.ts';\nexport { z } from '../web/z.ts';\nconst m = await import('../cli/main.ts');`), [
    '../http/auth.ts',
    './y.ts',
    '../web/z.ts',
    '../cli/main.ts',
  ]);
});
