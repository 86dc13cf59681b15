// HTML built with a tagged template that escapes every interpolated value unless it is already
// markup (an Html value). Pages cannot forget to escape a customer's name or a help message.
// Also the few helpers every page handler shares: sending a page, reading a form field.
import type { FastifyReply } from 'fastify';

export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString() {
    return this.value;
  }
}

export type Piece = Html | string | number | boolean | null | undefined | Piece[];

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c]);
}

function render(p: Piece): string {
  if (p === null || p === undefined || p === false || p === true) return '';
  if (p instanceof Html) return p.value;
  if (Array.isArray(p)) return p.map(render).join('');
  return escapeHtml(String(p));
}

export function html(strings: TemplateStringsArray, ...values: Piece[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** Markup that is already safe (generated here, never from input). */
export function raw(s: string): Html {
  return new Html(s);
}

export function join(parts: Piece[], sep: Piece = ''): Html {
  const out: string[] = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(render(sep));
    out.push(render(p));
  });
  return new Html(out.join(''));
}

/** Attribute helper: `attrs({ disabled: true, 'aria-invalid': err ? 'true' : null })`. */
export function attrs(a: Record<string, string | number | boolean | null | undefined>): Html {
  return new Html(
    Object.entries(a)
      .filter(([, v]) => v !== null && v !== undefined && v !== false)
      .map(([k, v]) => (v === true ? ` ${k}` : ` ${k}="${escapeHtml(String(v))}"`))
      .join(''),
  );
}

/** Sends a page; pages are never cached (they show a signed-in person's data). */
export function sendHtml(reply: FastifyReply, body: Html, status = 200) {
  return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body.value);
}

/** A parsed form or query string. */
export type Body = Record<string, unknown>;

/** One form field as a string ('' when absent; the first value when repeated). */
export function str(v: unknown): string {
  if (Array.isArray(v)) return str(v[0]);
  return typeof v === 'string' ? v : '';
}

/** A field that may repeat (checkboxes of one name), as a list of strings. */
export function strs(v: unknown): string[] {
  return ([] as unknown[]).concat(v ?? []).map(String);
}
