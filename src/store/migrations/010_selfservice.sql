-- Customer self-service: the read paths of help requests, portal sessions, replayed requests and
-- rate counters (tables created in 001_init.sql).

-- A customer's own help requests, newest first.
CREATE INDEX IF NOT EXISTS help_requests_account ON help_requests (account_id, created_at DESC);
-- A help request per invoice (the operator's view of an invoice).
CREATE INDEX IF NOT EXISTS help_requests_invoice ON help_requests (invoice_id);
-- An account's portal sessions (operator listing, revocation).
CREATE INDEX IF NOT EXISTS portal_sessions_account ON portal_sessions (account_id, created_at DESC);
-- Expiry sweeps of replayed answers (kept 24 hours) and of old rate-limit windows.
CREATE INDEX IF NOT EXISTS idempotent_requests_created ON idempotent_requests (created_at);
CREATE INDEX IF NOT EXISTS rate_counters_window ON rate_counters (window_start);
