// Stripe's form encoding (qs style, as the official clients send it): `a=1&metadata[k]=v&card[number]=…
// &expand[0]=x`. Bracketed keys nest; an object whose keys are 0..n-1 becomes an array. Values are
// strings. Keys that could reach an object's prototype are dropped.
export type FormValue = string | FormObject | FormValue[];
export interface FormObject {
  [k: string]: FormValue;
}

const RAW = Symbol('raw form');

function decode(s: string): string {
  if (s.indexOf('+') !== -1) s = s.replace(/\+/g, ' ');
  if (s.indexOf('%') === -1) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** Parses a form body or query string; the raw text stays attached (see rawOf). */
export function parseForm(text: string): FormObject {
  const out: FormObject = {};
  if (text) {
    for (const pair of text.split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const key = decode(eq === -1 ? pair : pair.slice(0, eq));
      const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
      setPath(out, key, value);
    }
    arrayify(out);
  }
  Object.defineProperty(out, RAW, { value: text, enumerable: false });
  return out;
}

/** Whether this value came out of parseForm. */
export function isForm(body: unknown): body is FormObject {
  return !!body && typeof body === 'object' && RAW in body;
}

/** The raw text a parsed form came from, or '' for anything else. */
export function rawOf(body: unknown): string {
  return body && typeof body === 'object' ? ((body as Record<symbol, string>)[RAW] ?? '') : '';
}

function setPath(target: FormObject, key: string, value: string) {
  const open = key.indexOf('[');
  if (open <= 0) {
    if (!FORBIDDEN.has(key)) target[key] = value;
    return;
  }
  const parts = [key.slice(0, open)];
  const re = /\[([^\]]*)\]/g;
  re.lastIndex = open;
  let m: RegExpExecArray | null;
  while ((m = re.exec(key)) !== null) parts.push(m[1]);
  let obj = target;
  for (let i = 0; i < parts.length; i++) {
    let p = parts[i];
    if (FORBIDDEN.has(p)) return;
    if (p === '' && i > 0) p = String(Object.keys(obj).length); // a[]=x
    if (i === parts.length - 1) {
      obj[p] = value;
    } else {
      const next = obj[p];
      if (next === undefined || typeof next === 'string') obj[p] = {};
      obj = obj[p] as FormObject;
    }
  }
}

function arrayify(o: FormObject): void {
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      arrayify(v);
      const keys = Object.keys(v);
      if (keys.length > 0 && keys.every((x, i) => x === String(i))) o[k] = keys.map((x) => (v as FormObject)[x]);
    }
  }
}
