// E-mail templates: every template renders completely in every locale (no missing message, no
// placeholder left, no "undefined"/"NaN"), money and dates follow the locale, and the HTML part
// escapes what it interpolates. The catalogs themselves (core/messages) are checked in
// test/core/messages.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CATALOGS, LANGUAGES, TEMPLATE_NAMES, formatMoney, renderEmail, resolveLocale, type EmailContext, type TemplateName } from '../../src/notify/templates.ts';
import { DECLINE_REASONS } from '../../src/core/types.ts';
import { i18n } from '../../src/web/i18n/index.ts';

/** Intl puts (narrow) no-break spaces in "29,00 €": compare with plain spaces. */
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

/** The no-login links the engine passes (engine/links.ts mints one token per way out). */
const LINKS = {
  billing: 'https://billing.example.com/portal/links/rl_billing',
  retry: 'https://billing.example.com/portal/links/rl_retry',
  help: 'https://billing.example.com/portal/links/rl_help',
  authenticate: 'https://billing.example.com/portal/links/rl_authenticate',
  subscription: 'https://billing.example.com/portal/links/rl_subscription',
  restore: 'https://billing.example.com/portal/links/rl_restore',
  history: 'https://billing.example.com/portal/links/rl_history',
};

const LOCALE_OF = { en: 'en-US', fr: 'fr-FR', de: 'de-DE', es: 'es-ES', it: 'it-IT', pt: 'pt-BR', pl: 'pl-PL' } as const;

function fullContext(locale: string): EmailContext {
  return {
    locale,
    time_zone: 'Europe/Paris',
    account_name: 'Acme',
    links: LINKS,
    link_expires_at: new Date('2026-03-02T09:00:00Z'),
    plan_name: 'Pro',
    amount: 2900,
    currency: 'EUR',
    period_end: new Date('2026-03-31T09:00:00Z'),
    grace_ends_at: new Date('2026-03-14T09:00:00Z'),
    next_retry_at: new Date('2026-03-03T09:00:00Z'),
    reason: 'insufficient_funds',
    days_left: 3,
    card_brand: 'visa',
    card_last4: '4242',
    exp_month: 2,
    exp_year: 2026,
    invoice_id: 'inv_123',
    help_request_id: 'help_456',
    answer: 'Your bank declined the payment.\nPlease try another card.',
    outcome: 'declined',
    endpoint_id: 'we_1',
    endpoint_url: 'https://hooks.example.com/renewd',
    failing_since: new Date('2026-03-01T08:00:00Z'),
    last_error: 'HTTP 500',
  };
}

function assertComplete(r: { subject: string; text: string; html: string }, where: string) {
  for (const [part, s] of Object.entries(r)) {
    if (typeof s !== 'string') continue;
    assert.ok(s.trim().length > 0, `${where}: empty ${part}`);
    assert.doesNotMatch(s, /\{[a-z_]+\}/, `${where}: placeholder left in ${part}`);
    assert.doesNotMatch(s, /undefined|NaN|\bnull\b|\[object Object\]|Invalid Date/, `${where}: bad value in ${part}`);
  }
}

describe('catalogs', () => {
  test('the seven languages are there', () => {
    assert.deepEqual([...LANGUAGES].sort(), ['de', 'en', 'es', 'fr', 'it', 'pl', 'pt']);
  });
});

describe('every template in every locale', () => {
  for (const lang of LANGUAGES) {
    test(`${lang}: all ${TEMPLATE_NAMES.length} templates render fully`, () => {
      for (const t of TEMPLATE_NAMES) {
        const r = renderEmail(t, fullContext(LOCALE_OF[lang]));
        assertComplete(r, `${lang}/${t}`);
        assert.equal(r.language, lang);
        if (lang !== 'en') {
          const english = renderEmail(t, fullContext('en'));
          assert.notEqual(r.subject, english.subject, `${lang}/${t}: subject is the English one`);
          assert.notEqual(r.text, english.text, `${lang}/${t}: text is the English one`);
        }
        assert.match(r.html, new RegExp(`<html lang="${LOCALE_OF[lang]}"`));
      }
    });
  }

  test('with only the required fields, nothing undefined or unfilled shows', () => {
    for (const lang of LANGUAGES) {
      for (const t of TEMPLATE_NAMES) {
        const r = renderEmail(t, { locale: lang, time_zone: 'UTC', account_name: 'Acme', plan_name: 'Pro', period_end: new Date('2026-03-31T00:00:00Z'), days_left: 1 });
        assertComplete(r, `${lang}/${t} minimal`);
      }
    }
  });

  test('every decline reason has its own phrase in every language', () => {
    for (const lang of LANGUAGES) {
      const seen = new Set<string>();
      for (const reason of DECLINE_REASONS) {
        const r = renderEmail('renewal_failed', { ...fullContext(lang), reason });
        const phrase = CATALOGS[lang][`because.${reason}`];
        assert.ok(r.text.includes(phrase), `${lang}/${reason}`);
        assert.ok(!seen.has(phrase), `${lang}: two reasons share "${phrase}"`);
        seen.add(phrase);
      }
    }
  });
});

describe('content', () => {
  test('English renewal_failed: reason in customer words, every way out with its own link, access until grace end', () => {
    const { authenticate: _, ...links } = LINKS;
    const r = renderEmail('renewal_failed', { ...fullContext('en-US'), links, reason: 'credit_limit', time_zone: 'America/New_York' });
    assert.match(r.text, /Why: your card's credit limit was reached\./);
    assert.match(r.text, /update your card in Billing information/);
    assert.match(r.text, /retry the payment at once/);
    assert.match(r.text, /Request help \(link below\)/);
    assert.doesNotMatch(r.text, /Subscription → Billing information/);
    assert.match(r.text, /until March 14, 2026/);
    assert.match(r.text, /\$29\.00|€29\.00/);
    assert.match(r.text, /Update my card: https:\/\/billing\.example\.com\/portal\/links\/rl_billing\n/);
    assert.match(r.text, /Retry the payment: https:\/\/billing\.example\.com\/portal\/links\/rl_retry\n/);
    assert.match(r.text, /Request help: https:\/\/billing\.example\.com\/portal\/links\/rl_help\n/);
    assert.doesNotMatch(r.text, /Authenticate/);
    for (const p of ['billing', 'retry', 'help']) assert.match(r.html, new RegExp(`href="https://billing\\.example\\.com/portal/links/rl_${p}"`));
    const i = renderEmail('renewal_failed', { ...fullContext('en'), reason: 'issuer_unavailable' });
    assert.match(i.text, /Why: your bank could not be reached\./);
  });

  test('a technical failure (the bank or the payment system could not be reached) does not blame the card: its own subject and "what to do"', () => {
    // English: the bank unreachable; the date of the automatic retry; the card's ways out kept for who prefers not to wait.
    const i = renderEmail('renewal_failed', { ...fullContext('en-US'), reason: 'issuer_unavailable' });
    assert.equal(i.subject, 'We could not reach your bank for your Pro payment');
    assert.doesNotMatch(i.subject, /Action needed|failed/);
    assert.match(i.text, /Why: your bank could not be reached\./);
    assert.match(i.text, /Nothing to do: this was not a problem with your card\. We will try again automatically on March 3, 2026, and you keep full access meanwhile\./);
    assert.match(i.text, /You can also retry the payment at once with the same card \(link below\)\./);
    assert.doesNotMatch(i.text, /What to do|update your card|If the card works again/);
    assert.doesNotMatch(i.text, /We will also try again automatically/, 'the date is given once, in "what to do"');
    for (const p of ['billing', 'retry', 'help']) assert.ok(i.text.includes(LINKS[p as keyof typeof LINKS]), `${p} link kept`);
    // A gateway error or timeout settled as not charged (payment_system_failure), the retry that the customer asked for failing.
    const s = renderEmail('retry_failed', { ...fullContext('en-US'), reason: 'payment_system_failure' });
    assert.equal(s.subject, 'We could not reach your bank to retry your Pro payment');
    assert.match(s.text, /Why: there was a failure in the payment system\./);
    assert.match(s.text, /Nothing to do: this was not a problem with your card\./);
    assert.doesNotMatch(s.text, /update your card/);
    // No automatic retry left (e.g. grace ends first): no "nothing to do", and no Retry sentence without the Retry link.
    const { retry: _, ...noRetry } = LINKS;
    const n = renderEmail('renewal_failed', { ...fullContext('en-US'), links: noRetry, reason: 'issuer_unavailable', next_retry_at: null });
    assert.match(n.text, /This was not a problem with your card, but we will not try the payment again automatically\. To keep your plan, use another card in Billing information \(link below\)\./);
    assert.doesNotMatch(n.text, /Nothing to do|retry the payment at once|update your card/);
    // German: the same, in German.
    const de = renderEmail('renewal_failed', { ...fullContext('de-DE'), reason: 'issuer_unavailable' });
    assert.equal(de.subject, 'Wir konnten Ihre Bank für die Zahlung Ihres Abonnements Pro nicht erreichen');
    assert.ok(de.text.includes('Das lag daran, dass Ihre Bank nicht erreichbar war.'), de.text);
    assert.ok(de.text.includes('Sie müssen nichts tun: Das Problem lag nicht an Ihrer Karte. Wir versuchen es am 3. März 2026 automatisch erneut'), de.text);
    assert.ok(!de.text.includes(CATALOGS.de['email.todo']) && !de.text.includes('Aktualisieren Sie Ihre Karte'), de.text);
    assert.doesNotMatch(de.subject, /Handlungsbedarf/);
    // Polish too.
    const pl = renderEmail('retry_failed', { ...fullContext('pl-PL'), reason: 'issuer_unavailable' });
    assert.equal(pl.subject, 'Nie udało się połączyć z Twoim bankiem przy ponownej próbie płatności za subskrypcję Pro');
    assert.ok(pl.text.includes('Nie musisz nic robić: problem nie dotyczył Twojej karty. Ponowimy próbę automatycznie w dniu 3 marca 2026'), pl.text);
    assert.ok(!pl.text.includes('zaktualizuj kartę'), pl.text);
  });

  test('a card decline keeps "Action needed" and "update your card" (en, de, pl); every language words the technical case apart', () => {
    for (const reason of ['insufficient_funds', 'card_expired_or_inactive', 'declined_by_bank'] as const) {
      const en = renderEmail('renewal_failed', { ...fullContext('en-US'), reason });
      assert.equal(en.subject, 'Action needed: the payment for your Pro subscription failed', reason);
      assert.ok(en.text.includes(CATALOGS.en['email.todo']) && /update your card in Billing information/.test(en.text), reason);
      assert.match(en.text, /We will also try again automatically on March 3, 2026\./);
      assert.doesNotMatch(en.text, /Nothing to do|not a problem with your card/, reason);
      const de = renderEmail('renewal_failed', { ...fullContext('de-DE'), reason });
      assert.equal(de.subject, 'Handlungsbedarf: Die Zahlung für Ihr Abonnement Pro ist fehlgeschlagen', reason);
      assert.ok(de.text.includes(CATALOGS.de['email.todo']) && !de.text.includes(CATALOGS.de['email.todo.technical'].slice(0, 20)), reason);
      const pl = renderEmail('retry_failed', { ...fullContext('pl-PL'), reason });
      assert.equal(pl.subject, 'Płatność za subskrypcję Pro ponownie się nie powiodła', reason);
      assert.ok(pl.text.includes(CATALOGS.pl['email.todo']), reason);
    }
    // The grace reminder carries no reason: unchanged. No reason at all (no card on file): the card's texts.
    assert.ok(renderEmail('grace_ending', { ...fullContext('en'), reason: undefined }).text.includes(CATALOGS.en['email.todo']));
    assert.equal(renderEmail('renewal_failed', { ...fullContext('en'), reason: undefined }).subject, 'Action needed: the payment for your Pro subscription failed');
    for (const lang of LANGUAGES) {
      for (const t of ['renewal_failed', 'retry_failed'] as const) {
        const card = renderEmail(t, { ...fullContext(LOCALE_OF[lang]), reason: 'insufficient_funds' });
        const tech = renderEmail(t, { ...fullContext(LOCALE_OF[lang]), reason: 'issuer_unavailable' });
        const cat = CATALOGS[lang] as Record<string, string>;
        assertComplete(tech, `${lang}/${t} technical`);
        assert.notEqual(tech.subject, card.subject, `${lang}/${t}: subject`);
        assert.ok(!tech.text.includes(cat['email.todo']) && !tech.text.includes(cat['email.todo.retry']), `${lang}/${t}: the card's todo`);
        assert.ok(tech.text.includes(cat['email.todo.technical.retry']) && tech.text.includes(cat['email.todo.help']), `${lang}/${t}: retry and help sentences`);
        for (const p of ['billing', 'retry', 'help'] as const) assert.ok(tech.text.includes(LINKS[p]), `${lang}/${t}: ${p} link`);
      }
    }
  });

  test('French renewal_failed for insufficient funds: French phrase, French money and date', () => {
    const r = renderEmail('renewal_failed', fullContext('fr-FR'));
    assert.match(r.subject, /Action requise/);
    assert.ok(r.text.includes('Motif : le solde du compte était insuffisant.'));
    assert.ok(plain(r.text).includes('29,00 €'));
    assert.ok(r.text.includes('14 mars 2026'));
    assert.ok(r.text.includes('Informations de facturation (lien ci-dessous)'));
    assert.ok(r.text.includes(`Relancer le paiement : ${LINKS.retry}`));
    assert.ok(r.text.includes(`Demander de l'aide : ${LINKS.help}`));
  });

  test('Retry is left out (button and sentence) when the engine gave no Retry link, in every language', () => {
    const { retry: _, authenticate: __, ...links } = LINKS;
    for (const lang of LANGUAGES) {
      for (const t of ['renewal_failed', 'retry_failed', 'grace_ending'] as const) {
        const r = renderEmail(t, { ...fullContext(LOCALE_OF[lang]), links });
        const cat = CATALOGS[lang] as Record<string, string>;
        assert.ok(!r.text.includes(cat['email.link.retry']), `${lang}/${t}: Retry offered`);
        assert.ok(!r.text.includes(cat['email.todo.retry']), `${lang}/${t}: Retry sentence`);
        assert.ok(!r.text.includes('rl_retry'), `${lang}/${t}: Retry link`);
        assert.ok(r.text.includes(`${cat['email.link.billing']}`) && r.text.includes(LINKS.billing), `${lang}/${t}: billing link`);
        assert.ok(r.text.includes(LINKS.help) && r.text.includes(cat['email.todo.help']), `${lang}/${t}: help link and sentence`);
      }
    }
  });

  test('no customer e-mail sends the reader to "Subscription → Billing information" without a link', () => {
    for (const lang of LANGUAGES) {
      for (const t of TEMPLATE_NAMES) {
        const r = renderEmail(t, fullContext(LOCALE_OF[lang]));
        assert.doesNotMatch(r.text, /→ (Billing information|Informations de facturation|Zahlungsinformationen|Información de facturación|Dati di fatturazione|Dados de cobrança|Dane rozliczeniowe)/, `${lang}/${t}`);
      }
    }
  });

  test('access_link: the one link asked for, until when it works, in every language', () => {
    for (const lang of LANGUAGES) {
      const r = renderEmail('access_link', { ...fullContext(LOCALE_OF[lang]), links: { billing: LINKS.billing } });
      const cat = CATALOGS[lang] as Record<string, string>;
      assert.ok(r.text.includes(`${cat['email.link.billing']}`) && r.text.includes(LINKS.billing), lang);
      assert.equal((r.text.match(/portal\/links\//g) ?? []).length, 1, `${lang}: one link`);
      assert.ok(r.subject === cat['email.access_link.subject'], lang);
    }
    assert.match(renderEmail('access_link', { ...fullContext('en-GB'), links: { subscription: LINKS.subscription } }).text, /works until 2 March 2026 at 10:00/);
  });

  test('without links (a preview), the pages\' address with the section anchor, never Retry', () => {
    const r = renderEmail('renewal_failed', { ...fullContext('en'), links: undefined, portal_url: 'https://billing.example.com/portal' });
    assert.match(r.text, /Update my card: https:\/\/billing\.example\.com\/portal#billing\n/);
    assert.doesNotMatch(r.text, /Retry the payment/);
  });

  test('dates are shown in the account time zone', () => {
    const at = new Date('2026-03-14T23:30:00Z');
    const paris = renderEmail('renewal_failed', { ...fullContext('en-GB'), grace_ends_at: at, time_zone: 'Europe/Paris' });
    const ny = renderEmail('renewal_failed', { ...fullContext('en-GB'), grace_ends_at: at, time_zone: 'America/New_York' });
    assert.match(paris.text, /15 March 2026/);
    assert.match(ny.text, /14 March 2026/);
    const bad = renderEmail('renewal_failed', { ...fullContext('en-GB'), grace_ends_at: at, time_zone: 'Not/AZone' });
    assert.match(bad.text, /14 March 2026/); // falls back to UTC
  });

  test('money uses the currency exponent: JPY has none, EUR two, KWD three', () => {
    assert.equal(plain(formatMoney(3500, 'JPY', 'ja-JP')), '￥3,500');
    assert.equal(plain(formatMoney(3500, 'JPY', 'en-US')), '¥3,500');
    assert.equal(plain(formatMoney(2900, 'EUR', 'de-DE')), '29,00 €');
    assert.equal(plain(formatMoney(123456, 'EUR', 'fr-FR')), '1 234,56 €');
    assert.equal(plain(formatMoney(1999, 'KWD', 'en')), 'KWD 1.999');
    const r = renderEmail('renewal_succeeded', { ...fullContext('en-US'), amount: 3500, currency: 'JPY' });
    assert.ok(r.text.includes('¥3,500'));
  });

  test('French writes the first of the month as an ordinal (1er janvier), e-mails and pages alike; other days and languages as Intl does', () => {
    const at = (iso: string, locale: string) => plain(renderEmail('purchase_succeeded', { ...fullContext(locale), period_end: new Date(iso) }).text);
    assert.match(at('2027-01-01T10:00:00Z', 'fr-FR'), /jusqu'au 1er janvier 2027/);
    assert.match(at('2027-01-02T10:00:00Z', 'fr-FR'), /jusqu'au 2 janvier 2027/);
    assert.doesNotMatch(at('2027-01-11T10:00:00Z', 'fr-FR'), /11er/);
    assert.match(at('2027-01-01T10:00:00Z', 'en-GB'), /1 January 2027/);
    const page = i18n('fr-FR', 'Europe/Paris');
    assert.equal(plain(page.date(new Date('2027-03-01T10:00:00Z'))), '1er mars 2027');
    assert.match(plain(page.dateTime(new Date('2027-03-01T10:00:00Z'))), /^1er mars 2027/);
  });

  test('a first purchase is a receipt that says the subscription started, not that it was renewed', () => {
    for (const lang of LANGUAGES) {
      const bought = renderEmail('purchase_succeeded', fullContext(LOCALE_OF[lang]));
      const renewed = renderEmail('renewal_succeeded', fullContext(LOCALE_OF[lang]));
      assert.notEqual(bought.subject, renewed.subject, lang);
      assert.notEqual(bought.text, renewed.text, lang);
    }
    assert.equal(renderEmail('purchase_succeeded', fullContext('fr-FR')).subject, 'Reçu : votre abonnement Pro a commencé');
  });

  test('unknown locales fall back to the language, then English', () => {
    assert.deepEqual(resolveLocale('fr-CA'), { locale: 'fr-CA', language: 'fr' });
    assert.deepEqual(resolveLocale('pt_BR'), { locale: 'pt-BR', language: 'pt' });
    assert.deepEqual(resolveLocale('ja-JP'), { locale: 'en', language: 'en' });
    assert.deepEqual(resolveLocale('not a locale!'), { locale: 'en', language: 'en' });
    const ca = renderEmail('downgraded', fullContext('fr-CA'));
    assert.equal(ca.subject, renderEmail('downgraded', fullContext('fr')).subject);
    const ja = renderEmail('downgraded', fullContext('ja-JP'));
    assert.equal(ja.subject, renderEmail('downgraded', fullContext('en')).subject);
  });

  test('plural days follow the language (Polish one / few / many)', () => {
    const pl = (n: number) => renderEmail('grace_ending', { ...fullContext('pl-PL'), days_left: n }).subject;
    assert.match(pl(1), /1 dzień/);
    assert.match(pl(3), /3 dni/);
    assert.match(pl(5), /5 dni/);
    assert.match(renderEmail('grace_ending', { ...fullContext('en'), days_left: 1 }).subject, /1 day left/);
    assert.match(renderEmail('grace_ending', { ...fullContext('de'), days_left: 2 }).subject, /2 Tage/);
  });

  test('the HTML part escapes interpolated values; the text part keeps them as written', () => {
    const evil = '<script>alert("x")</script> & Co';
    const r = renderEmail('help_request_answered', { ...fullContext('en'), account_name: evil, plan_name: '<b>Pro</b>', answer: '<img src=x onerror=alert(1)>' });
    assert.ok(!r.html.includes('<script>'));
    assert.ok(!r.html.includes('<img'));
    assert.ok(!r.html.includes('<b>Pro'));
    assert.ok(r.html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co'));
    assert.ok(r.text.includes(evil));
    // A non-http(s) portal address never becomes a link.
    const js = renderEmail('downgraded', { ...fullContext('en'), links: undefined, portal_url: 'javascript:alert(1)' });
    assert.ok(!js.html.includes('href="javascript'));
    const jl = renderEmail('downgraded', { ...fullContext('en'), links: { restore: 'javascript:alert(1)' } });
    assert.ok(!jl.html.includes('href="javascript'));
    assert.ok(!js.html.includes('href="javascript'));
  });

  test('a value containing braces is not taken for a placeholder', () => {
    const r = renderEmail('renewal_succeeded', { ...fullContext('en'), account_name: 'Acme {plan_name}' });
    assert.match(r.text, /Hello Acme \{plan_name\},/);
  });

  test('authentication e-mails link to the authentication page; help answers are quoted', () => {
    const a = renderEmail('authentication_required', fullContext('de-DE'));
    assert.match(a.text, /Zahlung bestätigen: https:\/\/billing\.example\.com\/portal\/links\/rl_authenticate\n/);
    assert.match(a.text, /Meine Karte aktualisieren: https:\/\/billing\.example\.com\/portal\/links\/rl_billing\n/);
    assert.match(a.text, /Hilfe anfordern: https:\/\/billing\.example\.com\/portal\/links\/rl_help\n/);
    const h = renderEmail('help_request_answered', fullContext('es-ES'));
    assert.match(h.text, /> Your bank declined the payment\.\n> Please try another card\./);
    assert.match(h.html, /<blockquote[^>]*>Your bank declined the payment\.<br>Please try another card\.<\/blockquote>/);
  });

  test('an unknown template is an error', () => {
    assert.throws(() => renderEmail('nope' as TemplateName, fullContext('en')), RangeError);
  });
});
