// The installation's pace at the gateway (issue 19): every request the adapter makes first takes a
// token from a bucket shared by all workers through PostgreSQL (store/pace.ts), so together they
// keep to one rate (RENEWD_GATEWAY_RATE) however many there are. A share of that rate is kept for
// the requests a customer waits for (Retry, a new card, authentication), in its own bucket, so they
// are never queued behind the billing day. 429s halve the billing rate for everyone; it climbs back
// once they stop (core/pace.ts).
import type { Db } from '../store/db.ts';
import { borrowPaceTokens, ensurePaceBucket, recordPaceRateLimited, takePaceTokens } from '../store/pace.ts';
import type { GatewayLane, GatewayPace } from '../gateway/stripe.ts';

/** The part of the rate kept for requests a customer waits for. */
export const CUSTOMER_SHARE = 0.2;

export interface PaceOptions {
  db: Db;
  /** The gateway's name: the buckets are `<gateway>:billing` and `<gateway>:customer`. */
  gateway: string;
  /** Requests per second for the whole installation. */
  rate: number;
  customerShare?: number;
  /** Wall-clock time (the gateway's limit is in real seconds, whatever the test clock says). */
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** Called when a 429 lowered the shared rate (logs, tests). */
  onSlowDown?: (rate: number) => void;
}

export interface Pace extends GatewayPace {
  /** Creates the buckets (or sets their ceilings to this configuration). */
  start(): Promise<void>;
  readonly rates: { billing: number; customer: number };
}

export function createPace(o: PaceOptions): Pace {
  const share = o.customerShare ?? CUSTOMER_SHARE;
  const now = o.now ?? (() => new Date());
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const rates = { customer: Math.max(1, o.rate * share), billing: Math.max(1, o.rate * (1 - share)) };
  const bucket = (lane: GatewayLane) => `${o.gateway}:${lane}`;
  // Tokens already taken from the shared bucket and not yet used, per lane; one request per lane
  // at a time goes to the database, the others wait for it in this process.
  const local: Record<GatewayLane, number> = { billing: 0, customer: 0 };
  const queue: Record<GatewayLane, Promise<void>> = { billing: Promise.resolve(), customer: Promise.resolve() };
  // No 429 lately, as the billing bucket last said (borrowing is only for calm times).
  let calm = true;

  async function take(lane: GatewayLane) {
    for (;;) {
      if (local[lane] >= 1) {
        local[lane]--;
        return;
      }
      // A tenth of a second's worth at a time: few queries, little hoarded by an idle worker.
      const chunk = Math.max(1, Math.floor(rates[lane] / 10));
      // The billing day first uses what customers leave idle (half a second of theirs is always
      // kept), unless the gateway has said 429 lately (to any worker): then the slower rate is the point.
      if (lane === 'billing' && calm) {
        const lent = await borrowPaceTokens(o.db, bucket('customer'), chunk, now(), bucket('billing'));
        if (lent && lent > 0) {
          local.billing += lent;
          continue;
        }
      }
      const r = await takePaceTokens(o.db, bucket(lane), chunk, now());
      if (!r) {
        await start();
        continue;
      }
      if (lane === 'billing') calm = r.calm;
      // Reserved ahead (at most a second's worth queued): wait for their time, then use them.
      if (r.waitMs > 0) await sleep(r.waitMs);
      local[lane] += r.granted;
    }
  }

  async function start() {
    await ensurePaceBucket(o.db, bucket('billing'), rates.billing, now());
    await ensurePaceBucket(o.db, bucket('customer'), rates.customer, now());
  }

  return {
    rates,
    start,
    acquire(lane) {
      const turn = queue[lane].then(() => take(lane));
      queue[lane] = turn.catch(() => undefined);
      return turn;
    },
    rateLimited() {
      // Hints only: a failure to record it must not fail the request being retried.
      local.billing = 0;
      calm = false;
      return recordPaceRateLimited(o.db, bucket('billing'), now()).then(
        (rate) => rate !== null && o.onSlowDown?.(rate),
        () => undefined,
      );
    },
    answered() {},
  };
}
