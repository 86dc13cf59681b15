// The texts of the e-mails, the invoice PDFs and the customer pages: one catalog of ICU
// MessageFormat messages per locale (`{plan}`, `{n, plural, one {# day} other {# days}}`), shared
// by notify/ and web/, and their formatter (intl-messageformat over Intl). Plain strings and
// pure functions: no I/O. A language without a catalog is written in English.
import { IntlMessageFormat } from 'intl-messageformat';
import { en, type Catalog, type MessageKey } from './en.ts';
import { fr } from './fr.ts';
import { de } from './de.ts';
import { es } from './es.ts';
import { it } from './it.ts';
import { pt } from './pt.ts';
import { pl } from './pl.ts';

export const CATALOGS = { en, fr, de, es, it, pt, pl } satisfies Record<string, Catalog>;
export type Language = keyof typeof CATALOGS;
export const LANGUAGES = Object.keys(CATALOGS) as Language[];
export type { Catalog, MessageKey };
export type Values = Record<string, string | number | undefined>;

/** The catalog language of a locale tag (fr-CA → fr, pt_BR → pt); English when it has none. */
export function languageOf(tag: string | null | undefined): Language {
  const lang = String(tag ?? '').split(/[-_]/)[0].toLowerCase();
  return Object.hasOwn(CATALOGS, lang) ? (lang as Language) : 'en';
}

// The parser's element types (@formatjs/icu-messageformat-parser `TYPE`) this module tells apart.
const ARGUMENT = 1;
const NUMBER = 2;
const SELECT = 5;
const PLURAL = 6;

interface Compiled {
  format: IntlMessageFormat;
  /** Every argument of the message, and whether it is counted (plural or number: a number is passed as is). */
  args: Map<string, 'text' | 'count'>;
}

interface Element {
  type: number;
  value?: unknown;
  options?: Record<string, { value: Element[] }>;
  children?: Element[];
}

function collect(els: Element[], into: Map<string, 'text' | 'count'>): Map<string, 'text' | 'count'> {
  for (const el of els) {
    if (el.type === ARGUMENT || el.type === SELECT) {
      if (!into.has(el.value as string)) into.set(el.value as string, 'text');
    } else if (el.type === PLURAL || el.type === NUMBER) into.set(el.value as string, 'count');
    for (const opt of Object.values(el.options ?? {})) collect(opt.value, into);
    if (el.children) collect(el.children, into);
  }
  return into;
}

// Compiling a message costs a parse; a billing day renders one e-mail per renewal. Keyed by
// locale and key, both from small sets; the bound only guards against a flood of locales.
const compiled = new Map<string, Compiled>();
const MAX = 5000;

/** A message compiled for a locale (the account's own, e.g. pt-PT, for its plural rules and numbers). */
export function compile(message: string, locale: string): Compiled {
  const id = `${locale}\u0000${message}`;
  let c = compiled.get(id);
  if (!c) {
    // ignoreTag: a "<" in a text is a letter, not rich-text markup.
    const format = new IntlMessageFormat(message, locale, undefined, { ignoreTag: true });
    c = { format, args: collect(format.getAst() as Element[], new Map()) };
    if (compiled.size >= MAX) compiled.clear();
    compiled.set(id, c);
  }
  return c;
}

/** The argument names of a message, sorted (the same in every locale). */
export function argumentsOf(message: string): string[] {
  return [...compile(message, 'en').args.keys()].sort();
}

/**
 * A message of `language`'s catalog formatted in `locale` with `values`. A text argument gets its
 * value as written (a number is not regrouped: ids and counts stay as given); an argument with no
 * value gets `missing(name)`, by default the `{name}` itself.
 */
export function formatMessage(
  language: Language,
  locale: string,
  key: MessageKey,
  values: Values = {},
  missing: (name: string) => string = (name) => `{${name}}`,
): string {
  const { format, args } = compile(CATALOGS[language][key] ?? en[key], locale);
  const given: Record<string, string | number> = {};
  for (const [name, kind] of args) {
    const v = values[name];
    given[name] = v === undefined ? missing(name) : kind === 'count' ? v : String(v);
  }
  return format.format(given) as string;
}
