// The sandbox's hosted card page (its stand-in for Stripe Checkout in setup mode): one accessible
// form — card number, expiry, CVC — in the session's language (en, fr, de, es, it, pt, pl; else
// English), the test cards listed, the error of a refused card next to the form, and a way back
// (cancel_url). Plain HTML and CSS, no script; the entered number and CVC are never written back.
import Negotiator from 'negotiator';
import type { CheckoutSessionRec } from './checkout.ts';
import { SETUP_TEST_CARDS } from './checkout.ts';

type Texts = {
  title: string;
  intro: string;
  number: string;
  expiry: string;
  cvc: string;
  save: string;
  cancel: string;
  cards: string;
  error: string;
  expired: string;
  complete: string;
  sandbox: string;
  /** Why a card was not saved, by the kind of Stripe error (code / decline_code). */
  why: { declined: string; funds: string; expired: string; number: string; expiry: string; cvc: string; processing: string };
};

const TEXTS: Record<string, Texts> = {
  en: {
    title: 'Save your card',
    intro: 'Your card is saved for future payments of your subscription.',
    number: 'Card number',
    expiry: 'Expiry date (MM / YY)',
    cvc: 'Security code (CVC)',
    save: 'Save card',
    cancel: 'Cancel and go back',
    cards: 'Test cards',
    error: 'The card was not saved:',
    expired: 'This page has expired. Go back and start again.',
    complete: 'This card has already been saved.',
    sandbox: 'Sandbox payment page — test cards only, no real money moves.',
    why: { declined: 'Your card was declined.', funds: 'Your card has insufficient funds.', expired: 'Your card has expired.', number: 'Your card number is not valid.', expiry: 'The expiry date is not valid.', cvc: 'The security code is not valid.', processing: 'An error occurred while processing your card. Try again in a little bit.' },
  },
  fr: {
    title: 'Enregistrer votre carte',
    intro: 'Votre carte est enregistrée pour les prochains paiements de votre abonnement.',
    number: 'Numéro de carte',
    expiry: "Date d'expiration (MM / AA)",
    cvc: 'Code de sécurité (CVC)',
    save: 'Enregistrer la carte',
    cancel: 'Annuler et revenir',
    cards: 'Cartes de test',
    error: "La carte n'a pas été enregistrée :",
    expired: 'Cette page a expiré. Revenez en arrière et recommencez.',
    complete: 'Cette carte a déjà été enregistrée.',
    sandbox: 'Page de paiement du bac à sable — cartes de test uniquement, aucun argent réel.',
    why: { declined: 'Votre carte a été refusée.', funds: 'Les fonds de votre carte sont insuffisants.', expired: 'Votre carte a expiré.', number: "Le numéro de carte n'est pas valide.", expiry: "La date d'expiration n'est pas valide.", cvc: "Le code de sécurité n'est pas valide.", processing: 'Une erreur est survenue pendant le traitement de votre carte. Réessayez dans un instant.' },
  },
  de: {
    title: 'Karte speichern',
    intro: 'Ihre Karte wird für künftige Zahlungen Ihres Abonnements gespeichert.',
    number: 'Kartennummer',
    expiry: 'Ablaufdatum (MM / JJ)',
    cvc: 'Sicherheitscode (CVC)',
    save: 'Karte speichern',
    cancel: 'Abbrechen und zurück',
    cards: 'Testkarten',
    error: 'Die Karte wurde nicht gespeichert:',
    expired: 'Diese Seite ist abgelaufen. Gehen Sie zurück und beginnen Sie neu.',
    complete: 'Diese Karte wurde bereits gespeichert.',
    sandbox: 'Sandbox-Zahlungsseite — nur Testkarten, es fließt kein echtes Geld.',
    why: { declined: 'Ihre Karte wurde abgelehnt.', funds: 'Ihre Karte ist nicht ausreichend gedeckt.', expired: 'Ihre Karte ist abgelaufen.', number: 'Die Kartennummer ist ungültig.', expiry: 'Das Ablaufdatum ist ungültig.', cvc: 'Der Sicherheitscode ist ungültig.', processing: 'Bei der Verarbeitung Ihrer Karte ist ein Fehler aufgetreten. Versuchen Sie es gleich noch einmal.' },
  },
  es: {
    title: 'Guardar su tarjeta',
    intro: 'Su tarjeta se guarda para los próximos pagos de su suscripción.',
    number: 'Número de tarjeta',
    expiry: 'Fecha de caducidad (MM / AA)',
    cvc: 'Código de seguridad (CVC)',
    save: 'Guardar la tarjeta',
    cancel: 'Cancelar y volver',
    cards: 'Tarjetas de prueba',
    error: 'La tarjeta no se ha guardado:',
    expired: 'Esta página ha caducado. Vuelva atrás y empiece de nuevo.',
    complete: 'Esta tarjeta ya se ha guardado.',
    sandbox: 'Página de pago de prueba: solo tarjetas de prueba, sin dinero real.',
    why: { declined: 'Su tarjeta ha sido rechazada.', funds: 'Su tarjeta no tiene fondos suficientes.', expired: 'Su tarjeta ha caducado.', number: 'El número de tarjeta no es válido.', expiry: 'La fecha de caducidad no es válida.', cvc: 'El código de seguridad no es válido.', processing: 'Se produjo un error al procesar su tarjeta. Inténtelo de nuevo en un momento.' },
  },
  it: {
    title: 'Salva la tua carta',
    intro: 'La carta viene salvata per i prossimi pagamenti del tuo abbonamento.',
    number: 'Numero della carta',
    expiry: 'Data di scadenza (MM / AA)',
    cvc: 'Codice di sicurezza (CVC)',
    save: 'Salva la carta',
    cancel: 'Annulla e torna indietro',
    cards: 'Carte di prova',
    error: 'La carta non è stata salvata:',
    expired: 'Questa pagina è scaduta. Torna indietro e ricomincia.',
    complete: 'Questa carta è già stata salvata.',
    sandbox: 'Pagina di pagamento di prova: solo carte di prova, nessun denaro reale.',
    why: { declined: 'La carta è stata rifiutata.', funds: 'La carta non ha fondi sufficienti.', expired: 'La carta è scaduta.', number: 'Il numero della carta non è valido.', expiry: 'La data di scadenza non è valida.', cvc: 'Il codice di sicurezza non è valido.', processing: "Si è verificato un errore durante l'elaborazione della carta. Riprovi tra poco." },
  },
  pt: {
    title: 'Guardar o seu cartão',
    intro: 'O seu cartão fica guardado para os próximos pagamentos da sua subscrição.',
    number: 'Número do cartão',
    expiry: 'Data de validade (MM / AA)',
    cvc: 'Código de segurança (CVC)',
    save: 'Guardar o cartão',
    cancel: 'Cancelar e voltar',
    cards: 'Cartões de teste',
    error: 'O cartão não foi guardado:',
    expired: 'Esta página expirou. Volte atrás e comece de novo.',
    complete: 'Este cartão já foi guardado.',
    sandbox: 'Página de pagamento de teste: apenas cartões de teste, sem dinheiro real.',
    why: { declined: 'O seu cartão foi recusado.', funds: 'O seu cartão não tem fundos suficientes.', expired: 'O seu cartão expirou.', number: 'O número do cartão não é válido.', expiry: 'A data de validade não é válida.', cvc: 'O código de segurança não é válido.', processing: 'Ocorreu um erro ao processar o seu cartão. Tente de novo dentro de momentos.' },
  },
  pl: {
    title: 'Zapisz kartę',
    intro: 'Karta zostanie zapisana do kolejnych płatności za subskrypcję.',
    number: 'Numer karty',
    expiry: 'Data ważności (MM / RR)',
    cvc: 'Kod bezpieczeństwa (CVC)',
    save: 'Zapisz kartę',
    cancel: 'Anuluj i wróć',
    cards: 'Karty testowe',
    error: 'Karta nie została zapisana:',
    expired: 'Ta strona wygasła. Wróć i zacznij od nowa.',
    complete: 'Ta karta została już zapisana.',
    sandbox: 'Testowa strona płatności — tylko karty testowe, bez prawdziwych pieniędzy.',
    why: { declined: 'Karta została odrzucona.', funds: 'Na karcie brakuje środków.', expired: 'Karta straciła ważność.', number: 'Numer karty jest nieprawidłowy.', expiry: 'Data ważności jest nieprawidłowa.', cvc: 'Kod bezpieczeństwa jest nieprawidłowy.', processing: 'Podczas przetwarzania karty wystąpił błąd. Spróbuj ponownie za chwilę.' },
  },
};

/** The session's locale when it has texts, else the best of the browser's Accept-Language (negotiator), else English. */
export function checkoutTexts(locale: string | null, acceptLanguage?: string): { lang: string; t: Texts } {
  const own = locale && locale !== 'auto' ? locale.split(/[-_]/)[0].trim().toLowerCase() : '';
  const k = TEXTS[own] ? own : acceptLanguage ? new Negotiator({ headers: { 'accept-language': acceptLanguage } }).language(Object.keys(TEXTS)) : undefined;
  return k && TEXTS[k] ? { lang: k, t: TEXTS[k] } : { lang: 'en', t: TEXTS.en };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The customer's words for a Stripe error (the page is in the session's language; the API's messages are English). */
export function whyNotSaved(t: Texts, e: { code?: string; decline_code?: string; param?: string }): string {
  const c = `${e.code ?? ''} ${e.decline_code ?? ''}`;
  if (/funds/.test(c)) return t.why.funds;
  if (/expired_card/.test(c)) return t.why.expired;
  if (/processing_error/.test(c)) return t.why.processing;
  if (/number/.test(c)) return t.why.number;
  if (/cvc/.test(c)) return t.why.cvc;
  if (/expiry/.test(c)) return t.why.expiry;
  return t.why.declined;
}

export const CHECKOUT_CSS = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1a1a2e;background:#f4f5f9}
main{max-width:30rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px;border:1px solid #c9cbd6}
h1{font-size:1.4rem;margin:0 0 .5rem}.note{font-size:.9rem;color:#454866;background:#fff6d6;padding:.4rem .6rem;border-radius:4px}
.field{margin:1rem 0}label{display:block;font-weight:600;margin-bottom:.25rem}
input{width:100%;font:inherit;padding:.55rem .6rem;border:1px solid #6b6e85;border-radius:4px}
input:focus{outline:3px solid #2f5bd3;outline-offset:1px}input[aria-invalid=true]{border-color:#a3161a;border-width:2px}
.row{display:flex;gap:1rem}.row .field{flex:1}
button{font:inherit;font-weight:600;color:#fff;background:#2f3fb0;border:0;border-radius:4px;padding:.7rem 1.2rem;cursor:pointer;width:100%}
button:focus{outline:3px solid #1a1a2e;outline-offset:2px}
.error{color:#a3161a;border:1px solid #a3161a;background:#fdeeee;padding:.6rem .8rem;border-radius:4px}
a{color:#2f3fb0}.cancel{display:block;margin-top:1rem;text-align:center}
details{margin-top:1.5rem;font-size:.9rem}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2rem .4rem;border-bottom:1px solid #dfe0e8}
code{font-size:.95em}
`;

export function checkoutPage(opts: {
  cs: CheckoutSessionRec | null;
  lang: string;
  t: Texts;
  error?: { message: string; field: 'number' | 'expiry' | 'cvc' | null } | null;
}): string {
  const { cs, lang, t, error } = opts;
  const head = `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(t.title)}</title><link rel="stylesheet" href="/checkout/checkout.css"></head><body><main id="main">`;
  const tail = '</main></body></html>';
  if (!cs || cs.status !== 'open') {
    const msg = cs?.status === 'complete' ? t.complete : t.expired;
    const back = cs?.cancel_url ? `<p><a href="${esc(cs.cancel_url)}">${esc(t.cancel)}</a></p>` : '';
    return `${head}<h1>${esc(t.title)}</h1><p role="status">${esc(msg)}</p>${back}${tail}`;
  }
  const inv = (f: 'number' | 'expiry' | 'cvc') => (error?.field === f ? ' aria-invalid="true" aria-describedby="card-error"' : '');
  const err = error ? `<div class="error" id="card-error" role="alert"><strong>${esc(t.error)}</strong> ${esc(error.message)}</div>` : '';
  const cards = SETUP_TEST_CARDS.map((c) => `<tr><td><code>${c.number}</code></td><td>${esc(c.note)}</td></tr>`).join('');
  return `${head}<p class="note">${esc(t.sandbox)}</p>
<h1>${esc(t.title)}</h1>
<p>${esc(t.intro)}</p>
${err}
<form method="post" action="/checkout/${esc(cs.id)}" autocomplete="on">
<div class="field"><label for="number">${esc(t.number)}</label><input id="number" name="number" inputmode="numeric" autocomplete="cc-number" maxlength="23" spellcheck="false" required${inv('number')}${error ? ' autofocus' : ''}></div>
<div class="row">
<div class="field"><label for="expiry">${esc(t.expiry)}</label><input id="expiry" name="expiry" inputmode="numeric" autocomplete="cc-exp" maxlength="7" placeholder="MM / YY" required${inv('expiry')}></div>
<div class="field"><label for="cvc">${esc(t.cvc)}</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" maxlength="4" required${inv('cvc')}></div>
</div>
<button type="submit">${esc(t.save)}</button>
</form>
${cs.cancel_url ? `<a class="cancel" href="${esc(cs.cancel_url)}">${esc(t.cancel)}</a>` : ''}
<details><summary>${esc(t.cards)}</summary><table><tbody>${cards}</tbody></table><p>Any future expiry date, any 3-digit CVC.</p></details>
${tail}`;
}
