import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currencyExponent, formatMoney, isKnownCurrency } from '../../src/core/money.ts';

test('each currency has its own exponent', () => {
  assert.equal(currencyExponent('EUR'), 2);
  assert.equal(currencyExponent('USD'), 2);
  assert.equal(currencyExponent('JPY'), 0);
  assert.equal(currencyExponent('KWD'), 3);
});

test('minor units are formatted in the locale', () => {
  assert.equal(formatMoney(2900, 'EUR', 'fr-FR').replace(/\s/g, ' '), '29,00 €');
  assert.equal(formatMoney(2900, 'JPY', 'ja-JP'), '￥2,900');
  assert.equal(formatMoney(123456, 'USD', 'en-US'), '$1,234.56');
});

test('unknown currency codes are refused', () => {
  assert.equal(isKnownCurrency('EUR'), true);
  assert.equal(isKnownCurrency('XYZ'), false);
  assert.equal(isKnownCurrency('eur'), false);
  assert.equal(isKnownCurrency('EURO'), false);
});
