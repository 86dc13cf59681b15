-- Outage-aware grace (issue #18 item 2): an incident is a time when technical failures (issuer
-- unavailable, payment system failure, gateway timeouts and 5xx) ran well above their recent rate,
-- across the gateway ('gateway') or for one card brand ('brand:<brand>'). While one is open the
-- engine spends no attempt on the invoices it covers; when it closes their grace is extended.
CREATE TABLE incidents (
  id text PRIMARY KEY,
  scope text NOT NULL,
  opened_at timestamptz NOT NULL,
  closed_at timestamptz,
  -- Technical failures in the detection window when it opened, and in the baseline window before it.
  technical_declines int NOT NULL,
  baseline int NOT NULL,
  -- Set once every subscription it covered had the close applied (grace extended, retry spread).
  recovered_at timestamptz,
  CHECK (closed_at IS NULL OR closed_at >= opened_at)
);
-- One open incident per scope.
CREATE UNIQUE INDEX incidents_one_open_per_scope ON incidents (scope) WHERE closed_at IS NULL;
-- The subscriptions a closed incident was applied to: once each (grace is extended once).
CREATE TABLE incident_subscriptions (
  incident_id text NOT NULL REFERENCES incidents(id),
  subscription_id text NOT NULL REFERENCES subscriptions(id),
  applied_at timestamptz NOT NULL,
  PRIMARY KEY (incident_id, subscription_id)
);
-- Detection counts only technical failures by time: a small partial index.
CREATE INDEX payment_attempts_technical ON payment_attempts (created_at)
  WHERE outcome = 'unknown' OR (outcome = 'declined' AND retry_class = 'soon');
