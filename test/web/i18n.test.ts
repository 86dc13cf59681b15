// The customer pages' texts: formatting in the account's locale and time zone, and the language of
// a visitor from the Accept-Language header. The catalogs are checked in test/core/messages.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { i18n, languageFromHeader } from '../../src/web/i18n/index.ts';

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
  assert.equal(pl.daysLeft(22), 'zostały 22 dni');
  assert.equal(fr.daysLeft(1_000_000).replace(/\u202f/g, ' '), 'il vous reste 1 000 000 de jours');
  const us = i18n('en-US', 'America/New_York');
  assert.equal(us.money(3200, 'USD'), '$32.00');
  assert.equal(us.date(new Date('2026-03-01T03:00:00Z')), 'February 28, 2026');
  assert.equal(i18n('ja-JP').lang, 'en');
  assert.equal(i18n('de-AT').money(100, 'JPY'), '¥\u00a0100');
});

test('Accept-Language: the best language the pages have, by q-value, a region falling back to its language', () => {
  const cases: [string | undefined, string][] = [
    ['nl-NL,nl;q=0.9,de;q=0.8,en;q=0.5', 'de'],
    ['pt-BR', 'pt'],
    ['pt-BR,pt;q=0.9,en;q=0.8', 'pt'],
    ['de-CH', 'de'],
    ['PL', 'pl'],
    ['en;q=0.5, fr;q=0.9', 'fr'],
    ['fr;q=0.1, es-MX;q=0.7, it;q=0.3', 'es'],
    ['ja, *;q=0.1', 'en'],
    ['*', 'en'],
    ['fr;q=0', 'en'],
    ['fr;q=0, de', 'de'],
    ['ja-JP,zh;q=0.8', 'en'],
    [';;;,,,q=,', 'en'],
    ['\u0000garbage==;q=abc', 'en'],
    ['', 'en'],
    [undefined, 'en'],
  ];
  for (const [header, lang] of cases) assert.equal(languageFromHeader(header), lang, String(header));
});
