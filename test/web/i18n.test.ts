// The customer pages' catalogs: the same keys and placeholders in all 7 languages, and formatting
// in the account's locale and time zone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CATALOGS, i18n, languageFromHeader } from '../../src/web/i18n/index.ts';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('all 7 catalogs exist and have exactly the same keys', () => {
  assert.deepEqual(Object.keys(CATALOGS).sort(), ['de', 'en', 'es', 'fr', 'it', 'pl', 'pt']);
  const keys = Object.keys(CATALOGS.en).sort();
  for (const [lang, cat] of Object.entries(CATALOGS)) assert.deepEqual(Object.keys(cat).sort(), keys, `keys of ${lang}`);
});

test('every string is translated, non-empty, and keeps the placeholders of English', () => {
  for (const [lang, cat] of Object.entries(CATALOGS)) {
    for (const [key, value] of Object.entries(cat)) {
      assert.ok(value.trim().length > 0, `${lang} ${key} is empty`);
      assert.deepEqual(placeholders(value), placeholders(CATALOGS.en[key as keyof typeof CATALOGS.en]), `${lang} ${key}`);
    }
    if (lang !== 'en') {
      const same = Object.entries(cat).filter(([k, v]) => v === CATALOGS.en[k as keyof typeof CATALOGS.en] && !['sub.plan', 'sub.status', 'history.col.date'].includes(k));
      assert.ok(same.length <= 3, `${lang}: untranslated ${same.map(([k]) => k).join(', ')}`);
    }
  }
});

test('money, dates and plural day counts follow the account', () => {
  const fr = i18n('fr-FR', 'Europe/Paris');
  assert.equal(fr.lang, 'fr');
  assert.equal(fr.money(2900, 'EUR'), '29,00\u00a0€');
  assert.equal(fr.date(new Date('2026-03-14T23:30:00Z')), '15 mars 2026'); // already the 15th in Paris
  assert.equal(fr.daysLeft(1), 'il vous reste 1 jour');
  assert.equal(fr.daysLeft(5), 'il vous reste 5 jours');
  const pl = i18n('pl-PL', 'Europe/Warsaw');
  assert.equal(pl.daysLeft(1), 'został 1 dzień');
  assert.equal(pl.daysLeft(3), 'zostały 3 dni');
  assert.equal(pl.daysLeft(5), 'zostało 5 dni');
  const us = i18n('en-US', 'America/New_York');
  assert.equal(us.money(3200, 'USD'), '$32.00');
  assert.equal(us.date(new Date('2026-03-01T03:00:00Z')), 'February 28, 2026');
  assert.equal(i18n('ja-JP').lang, 'en');
  assert.equal(i18n('de-AT').money(100, 'JPY'), '¥\u00a0100');
  assert.equal(languageFromHeader('nl-NL,nl;q=0.9,de;q=0.8,en;q=0.5'), 'de');
  assert.equal(languageFromHeader(undefined), 'en');
});
