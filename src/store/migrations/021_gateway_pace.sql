-- The gateway pace (issue 19): one token bucket per gateway lane for the whole installation, so
-- every worker together keeps to the gateway's rate limit (Stripe: 100 requests/s live, 25 test).
-- `rate` adapts (halved on 429s, back up once they stop) under `ceiling`, the configured rate.
CREATE TABLE gateway_pace (
  bucket text PRIMARY KEY,
  rate double precision NOT NULL CHECK (rate > 0),
  ceiling double precision NOT NULL CHECK (ceiling > 0),
  tokens double precision NOT NULL,
  updated_at timestamptz NOT NULL,
  last_429_at timestamptz,
  rate_limited bigint NOT NULL DEFAULT 0
);
