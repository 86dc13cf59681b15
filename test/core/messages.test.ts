// The one catalog per locale (core/messages, ICU MessageFormat) that the e-mails, the invoice PDFs
// and the customer pages share: the same keys and the same arguments in all seven locales, and
// every message formats with sample values in every locale, leaving no ICU syntax behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CATALOGS, LANGUAGES, argumentsOf, compile, formatMessage, languageOf, type MessageKey } from '../../src/core/messages/index.ts';
import { DECLINE_REASONS } from '../../src/core/types.ts';

const KEYS = Object.keys(CATALOGS.en) as MessageKey[];
/** The locale each catalog is formatted in when checked (pt-PT and pt-BR count differently). */
const LOCALES: Record<string, string[]> = { en: ['en', 'en-GB'], fr: ['fr-FR'], de: ['de-DE'], es: ['es-ES'], it: ['it-IT'], pt: ['pt-PT', 'pt-BR'], pl: ['pl-PL'] };
/** Counts that reach every plural category of the seven languages (one, few, many, other, fractions). */
const COUNTS = [0, 1, 2, 3, 5, 11, 22, 1.5, 1_000_000];

test('the seven locales have exactly the same keys', () => {
  assert.deepEqual([...LANGUAGES].sort(), ['de', 'en', 'es', 'fr', 'it', 'pl', 'pt']);
  for (const lang of LANGUAGES) assert.deepEqual(Object.keys(CATALOGS[lang]).sort(), [...KEYS].sort(), `keys of ${lang}`);
});

test('every message has the arguments of its English one, and counted arguments are counted everywhere', () => {
  for (const lang of LANGUAGES) {
    for (const key of KEYS) {
      const message = CATALOGS[lang][key];
      assert.ok(message.trim().length > 0, `${lang} ${key} is empty`);
      assert.deepEqual(argumentsOf(message), argumentsOf(CATALOGS.en[key]), `${lang} ${key}: arguments`);
      const kinds = (m: string) => [...compile(m, 'en').args].sort();
      assert.deepEqual(kinds(message), kinds(CATALOGS.en[key]), `${lang} ${key}: argument kinds`);
    }
  }
});

test('every message formats with sample values in every locale, and no ICU syntax is left', () => {
  for (const lang of LANGUAGES) {
    for (const locale of LOCALES[lang]) {
      for (const key of KEYS) {
        const { args } = compile(CATALOGS[lang][key], locale);
        for (const n of args.size && [...args.values()].includes('count') ? COUNTS : [0]) {
          const values = Object.fromEntries([...args].map(([name, kind]) => [name, kind === 'count' ? n : `«${name}»`]));
          const out = formatMessage(lang, locale, key, values, (name) => assert.fail(`${lang} ${key}: ${name} missing`));
          assert.ok(out.trim().length > 0, `${locale} ${key}: empty`);
          assert.doesNotMatch(out, /[{}#]/, `${locale} ${key} (${n}): "${out}"`);
          for (const [name, kind] of args) if (kind === 'text') assert.ok(out.includes(`«${name}»`), `${locale} ${key}: ${name} not shown`);
          if ([...args.values()].includes('count')) assert.match(out, /\d/, `${locale} ${key} (${n}): the count is not shown`);
          if (!args.size) assert.equal(out, CATALOGS[lang][key], `${locale} ${key}: a text without arguments is shown as written (no ICU quoting)`);
        }
      }
    }
  }
});

test('translated: a language repeats English only where the word is the same', () => {
  const same: Record<string, string[]> = {
    fr: ['history.col.date', 'doc.line.period'],
    de: ['sub.status', 'history.status', 'email.label.row', 'doc.line.period'],
    es: ['sub.plan', 'email.label.row', 'email.label.plan', 'doc.line.period', 'doc.total'],
    it: ['email.label.row', 'doc.line.period'],
    pt: ['email.label.row', 'doc.line.period', 'doc.total'],
    pl: ['sub.plan', 'email.label.row', 'email.label.plan', 'doc.line.period'],
  };
  for (const lang of LANGUAGES.filter((l) => l !== 'en')) {
    assert.deepEqual(KEYS.filter((k) => CATALOGS[lang][k] === CATALOGS.en[k]), same[lang], `${lang}: untranslated`);
  }
});

test('plurals follow the language (ICU plural, not hand-written keys)', () => {
  const days = (locale: string, n: number) => formatMessage(languageOf(locale), locale, 'days', { n }).replace(/[\u00a0\u202f]/g, ' ');
  assert.equal(days('en', 1), '1 day');
  assert.equal(days('en', 0), '0 days');
  assert.equal(days('pl-PL', 1), '1 dzień');
  assert.equal(days('pl-PL', 3), '3 dni');
  assert.equal(days('pl-PL', 5), '5 dni');
  assert.equal(days('pl-PL', 22), '22 dni');
  assert.equal(days('pl-PL', 1.5), '1,5 dnia');
  assert.equal(days('fr-FR', 1_000_000), '1 000 000 de jours');
  assert.equal(days('fr-FR', 0), '0 jour');
  assert.equal(days('pt-BR', 0), '0 dia');
  assert.equal(days('pt-PT', 0), '0 dias');
  assert.ok(KEYS.every((k) => !/\.(one|few|many|other)$/.test(k)), 'no hand-written plural keys');
});

test('a decline reason exists once, as a label and as a clause, in every language', () => {
  for (const lang of LANGUAGES) {
    for (const kind of ['reason', 'because'] as const) {
      const texts = DECLINE_REASONS.map((r) => CATALOGS[lang][`${kind}.${r}`]);
      assert.equal(new Set(texts).size, DECLINE_REASONS.length, `${lang} ${kind}: two reasons share a text`);
    }
  }
});

test('a value is never read as ICU syntax, and a text argument keeps the number as given', () => {
  assert.equal(formatMessage('en', 'en', 'email.label.row', { label: "{x}'s #", value: 12345 }), "{x}'s #: 12345");
  assert.equal(formatMessage('en', 'en', 'sub.renews'), 'Renews automatically on {date}.');
  assert.equal(formatMessage('en', 'en', 'sub.renews', {}, () => ''), 'Renews automatically on .');
  assert.equal(languageOf('pt_BR'), 'pt');
  assert.equal(languageOf('ja-JP'), 'en');
  assert.equal(languageOf(null), 'en');
});
