-- Notifications (issue 6): webhook endpoint health, a log of every delivery attempt, and indexes
-- for the console's lists. Plain statements only.

ALTER TABLE webhook_endpoints ADD COLUMN description text;
ALTER TABLE webhook_endpoints ADD COLUMN failing_since timestamptz;
ALTER TABLE webhook_endpoints ADD COLUMN disabled_at timestamptz;
ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason text;
ALTER TABLE webhook_endpoints ADD COLUMN updated_at timestamptz;

-- One row per HTTP attempt of a delivery: when, the status code or the network error, how long.
CREATE TABLE webhook_delivery_attempts (
  id bigserial PRIMARY KEY,
  delivery_id text NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  endpoint_id text NOT NULL,
  attempt int NOT NULL,
  attempted_at timestamptz NOT NULL,
  status_code int,
  error text,
  duration_ms int NOT NULL
);
CREATE INDEX webhook_delivery_attempts_delivery ON webhook_delivery_attempts (delivery_id, attempt);

CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC);
CREATE INDEX notifications_created ON notifications (created_at DESC, id DESC);
