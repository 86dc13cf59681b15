// Intl formatters (core/intl.ts): built once per (locale, options) and kept (at most 2,000 of each
// kind), the French "1er" for the first of the month, and the time zone used when one is unknown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dateTimeFormat, formatDateIn, numberFormat, validTimeZone } from '../../src/core/intl.ts';

type Intl_ = typeof import('../../src/core/intl.ts');

test('a formatter is built once per locale and options, and kept', () => {
  const eur = numberFormat('fr', { style: 'currency', currency: 'EUR' });
  assert.equal(eur.format(1234.5), '1\u202f234,50\u00a0€');
  const usd = numberFormat('fr', { style: 'currency', currency: 'USD' });
  assert.notEqual(usd, eur, 'other options: another formatter');
  assert.equal(numberFormat('fr', { style: 'currency', currency: 'EUR' }), eur, 'the same one again, after another was built');
  const paris = dateTimeFormat('fr', { dateStyle: 'long', timeZone: 'Europe/Paris' });
  const tokyo = dateTimeFormat('fr', { dateStyle: 'long', timeZone: 'Asia/Tokyo' });
  const english = dateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'Europe/Paris' });
  const evening = new Date('2026-05-09T20:00:00Z');
  assert.deepEqual([paris.format(evening), tokyo.format(evening), english.format(evening)], ['9 mai 2026', '10 mai 2026', '9 May 2026']);
  assert.equal(dateTimeFormat('fr', { dateStyle: 'long', timeZone: 'Europe/Paris' }), paris);
  assert.equal(dateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'Europe/Paris' }), english);
});

test('at most 2,000 formatters of a kind are kept: the 2,001st distinct one starts the cache over', async () => {
  // A fresh copy of the module, so that the count starts at 0 whatever ran before.
  const intl = (await import(new URL('../../src/core/intl.ts?bound', import.meta.url).href)) as Intl_;
  const locale = (i: number) => `en-x-n${i}`; // 2,001 distinct locales that Intl accepts (private use)
  const first = intl.numberFormat(locale(0));
  for (let i = 1; i < 2000; i++) intl.numberFormat(locale(i));
  assert.equal(intl.numberFormat(locale(0)), first, '2,000 kept');
  intl.numberFormat(locale(2000));
  assert.notEqual(intl.numberFormat(locale(0)), first, 'the 2,001st cleared them');
  assert.equal(intl.numberFormat(locale(2000)), intl.numberFormat(locale(2000)), 'and is kept in the new cache');
});

test('a bad locale, currency or time zone throws a RangeError each time (nothing is kept)', () => {
  for (let i = 0; i < 2; i++) {
    assert.throws(() => dateTimeFormat('en', { timeZone: 'Mars/Olympus' }), RangeError);
    assert.throws(() => numberFormat('fr', { style: 'currency', currency: 'EURO' }), RangeError);
  }
});

test('French writes the first of the month "1er"; other days, other parts and other languages as Intl writes them', () => {
  const long = dateTimeFormat('fr', { dateStyle: 'long', timeZone: 'Europe/Paris' });
  assert.equal(formatDateIn(long, new Date('2026-01-01T12:00:00Z')), '1er janvier 2026');
  assert.equal(formatDateIn(long, new Date('2026-01-02T12:00:00Z')), '2 janvier 2026');
  assert.equal(formatDateIn(long, new Date('2026-01-11T12:00:00Z')), '11 janvier 2026');
  assert.equal(formatDateIn(long, new Date('2026-01-21T12:00:00Z')), '21 janvier 2026');
  // French as written in Canada too; with the time (the e-mails' date and time style).
  assert.equal(formatDateIn(dateTimeFormat('fr-CA', { dateStyle: 'long', timeZone: 'UTC' }), new Date('2026-01-01T12:00:00Z')), '1er janvier 2026');
  assert.equal(formatDateIn(dateTimeFormat('fr', { dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Paris' }), new Date('2026-03-01T09:00:00Z')), '1er mars 2026 à 10:00');
  // Only the day: January written as a number stays 1.
  assert.equal(formatDateIn(dateTimeFormat('fr', { month: 'numeric', timeZone: 'UTC' }), new Date('2026-01-15T12:00:00Z')), '1');
  // Other languages: Intl's own.
  assert.equal(formatDateIn(dateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'UTC' }), new Date('2026-01-01T12:00:00Z')), '1 January 2026');
});

test('a time zone Intl knows is kept; none, or an unknown one, is UTC', () => {
  assert.equal(validTimeZone('Europe/Paris'), 'Europe/Paris');
  assert.equal(validTimeZone('America/Argentina/Buenos_Aires'), 'America/Argentina/Buenos_Aires');
  for (const tz of [null, undefined, '', 'Mars/Olympus', 'Europe/Pariss']) assert.equal(validTimeZone(tz), 'UTC', String(tz));
});
