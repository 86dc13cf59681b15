// The card networks' retry caps, counted per card from a list of PaymentIntents (the sandbox's own,
// not renewd's attempts): Mastercard at most 10 declines per card in 24 h, Visa at most 20 reattempts
// in 30 days, and nothing after a Visa category 1 / do_not_try_again decline (payments-facts.md §2).
// Pure, so test/bench/ checks it without a database.
import { NETWORK_CAPS } from '../../src/core/dunning.ts';

export interface PiView {
  payment_method: string | null;
  created: number;
  status: string;
  last_payment_error: { decline_code?: string | null; advice_code?: string | null } | null;
}

export interface CapCheck {
  cards: number;
  charges: number;
  maxDeclines24h: number;
  maxReattempts30d: number;
  /** Attempts on a card after it answered a Visa category 1 / do_not_try_again decline. */
  afterNeverRetry: number;
  breaches: string[];
}

/** The networks' caps counted per card from the sandbox's PaymentIntents. */
export function checkCaps(intents: PiView[]): CapCheck {
  const byCard = new Map<string, PiView[]>();
  for (const pi of intents) {
    if (!pi.payment_method || pi.status === 'canceled') continue;
    const list = byCard.get(pi.payment_method) ?? [];
    list.push(pi);
    byCard.set(pi.payment_method, list);
  }
  let maxDeclines24h = 0;
  let maxReattempts30d = 0;
  let afterNeverRetry = 0;
  const breaches: string[] = [];
  for (const [card, list] of byCard) {
    list.sort((a, b) => a.created - b.created);
    const declined = list.map((p) => p.status !== 'succeeded');
    // A reattempt: an attempt whose previous attempt on the card was declined.
    const reattempt = list.map((_, i) => i > 0 && declined[i - 1]);
    let never = false;
    for (let i = 0; i < list.length; i++) {
      const t = list[i].created;
      if (never) afterNeverRetry++;
      if (declined[i] && list[i].last_payment_error?.advice_code === 'do_not_try_again') never = true;
      let d24 = 0;
      let r30 = 0;
      for (let j = i; j >= 0 && list[j].created > t - 30 * 86_400; j--) {
        if (list[j].created > t - 86_400 && declined[j]) d24++;
        if (reattempt[j]) r30++;
      }
      maxDeclines24h = Math.max(maxDeclines24h, d24);
      maxReattempts30d = Math.max(maxReattempts30d, r30);
      if (d24 > NETWORK_CAPS.declines_per_card_24h) breaches.push(`${card}: ${d24} declines in 24 h at ${new Date(t * 1000).toISOString()}`);
      if (r30 > NETWORK_CAPS.attempts_per_card_30d) breaches.push(`${card}: ${r30} reattempts in 30 days at ${new Date(t * 1000).toISOString()}`);
    }
  }
  if (afterNeverRetry > 0) breaches.push(`${afterNeverRetry} attempt(s) on a card after a do-not-try-again decline`);
  return { cards: byCard.size, charges: intents.length, maxDeclines24h, maxReattempts30d, afterNeverRetry, breaches: breaches.slice(0, 20) };
}
