// Summarizes .cpuprofile files (from `npm run bench -- --profile`): self time by function and by
// source file, and busy time by part of the stack, so a bottleneck shows as numbers. Usage: node bench/profile-summary.ts FILE… [--top 25]
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export function summarize(files: string[], top = 25): string {
  const byFn = new Map<string, number>();
  const incl = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const f of files) {
    const prof = JSON.parse(readFileSync(f, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
    const self = new Map<number, number>();
    prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
    // Inclusive time: each function counted once per stack (recursion is not double-counted).
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const name = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url ? `${path.basename(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
    const walk = (n: Node, onStack: Set<string>): number => {
      let t = self.get(n.id) ?? 0;
      const k = name(n);
      const fresh = !onStack.has(k);
      if (fresh) onStack.add(k);
      for (const c of n.children ?? []) t += walk(byId.get(c)!, onStack);
      if (fresh) {
        onStack.delete(k);
        incl.set(k, (incl.get(k) ?? 0) + t);
      }
      return t;
    };
    walk(prof.nodes[0], new Set());
    for (const n of prof.nodes) {
      const us = self.get(n.id) ?? 0;
      if (!us) continue;
      total += us;
      const url = n.callFrame.url.replace(/^file:\/\//, '');
      const short = url.includes('/node_modules/') ? 'node_modules/' + url.split('/node_modules/').pop()!.split('/').slice(0, url.includes('/@') ? 2 : 1).join('/') : url ? path.relative(process.cwd(), url) : `(${n.callFrame.functionName || 'native'})`;
      const fn = `${n.callFrame.functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
      byFn.set(fn, (byFn.get(fn) ?? 0) + us);
      byFile.set(short, (byFile.get(short) ?? 0) + us);
    }
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  // Busy time (everything but idle) by part of the stack, all files counted.
  const byPart = new Map<string, number>();
  for (const [file, us] of byFile) {
    const part = partOf(file);
    if (part) byPart.set(part, (byPart.get(part) ?? 0) + us);
  }
  const busy = [...byPart.values()].reduce((a, b) => a + b, 0);
  const lines = [`${files.length} profile(s), ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy`, '', 'busy time by part:'];
  for (const [k, v] of [...byPart].sort((a, b) => b[1] - a[1])) lines.push(`  ${((v / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
  lines.push('', 'self time by file/package:');
  for (const [k, v] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v)}  ${k}`);
  lines.push('', 'self time by function:');
  for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v)}  ${k}`);
  lines.push('', 'inclusive time of renewd functions (src/):');
  for (const [k, v] of [...incl].filter(([k]) => /\.ts:\d+$/.test(k) && !k.startsWith('(')).sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v)}  ${k}`);
  return lines.join('\n');
}

/** The part of the stack a file belongs to (null: idle). */
function partOf(file: string): string | null {
  if (file === '((idle))') return null;
  if (file === '((garbage collector))') return 'garbage collection';
  if (file === '(writev)' || file === '(writeBuffer)' || file === '(writeUtf8String)') return 'socket writes';
  if (file.startsWith('node_modules/stripe')) return 'Stripe client';
  if (/^node_modules\/(pg|pg-\w+|postgres-\w+)$/.test(file) || file === 'node:buffer') return 'pg and buffers';
  if (file.startsWith('node:_http') || file.startsWith('node:net') || file === 'node:events' || file.includes('streams') || file.includes('stream_base')) return 'Node HTTP, net and streams';
  if (file.startsWith('src/store/')) return 'store (statements, state loading)';
  if (file.startsWith('src/notify/') || file === 'src/core/intl.ts') return 'e-mail rendering';
  if (file.startsWith('src/engine/')) return 'engine';
  if (file.startsWith('src/core/')) return 'state machine and rules';
  if (file.startsWith('src/gateway/')) return 'gateway adapter';
  return 'other (native, microtasks, module loading, …)';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const ti = args.indexOf('--top');
  const top = ti >= 0 ? Number(args.splice(ti, 2)[1]) : 25;
  console.log(summarize(args, top));
}
