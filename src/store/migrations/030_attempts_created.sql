-- Incident detection (core/incidents.ts) compares the share of technical failures among all
-- attempts in the last window with the baseline's, so it counts every attempt by time.
CREATE INDEX IF NOT EXISTS payment_attempts_created ON payment_attempts (created_at);
