-- The gateway's own events (Stripe webhooks: POST /v1/gateway-events), one row per event id, so each
-- is processed exactly once however often it is delivered. A row is claimed when it arrives
-- (claimed_at) and marked processed once its handler has run; a claim left by a crashed process is
-- taken over after a few minutes (the gateway redelivers). Only the facts renewd read are kept,
-- never the event body (no card data beyond what the pages show).
CREATE TABLE IF NOT EXISTS gateway_events (
  id text PRIMARY KEY,
  type text NOT NULL,
  object_id text,
  created_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  claimed_at timestamptz NOT NULL,
  processed_at timestamptz,
  deliveries int NOT NULL DEFAULT 1,
  result text,
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS gateway_events_object ON gateway_events (object_id, type, created_at DESC);
