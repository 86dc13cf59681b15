-- Card capture on the gateway's hosted page (Stripe Checkout in setup mode, or the sandbox's copy):
-- one row per session renewd started. The card itself never comes here: only the gateway's session
-- id, the hash of the state nonce that ties the browser's return to whoever started it, and what
-- the completion did (the saved payment method, the immediate attempt's outcome).
-- started_by: 'portal' (the customer pages: the nonce is also held by the browser session) or 'api'.
-- returned_at: the browser came back with the nonce (once; a replayed return changes nothing).
-- claimed_at: a completion is running (a lease, so the browser's return and the gateway's event
-- never save the card twice); completed_at: done, with its result.
CREATE TABLE IF NOT EXISTS card_setup_sessions (
  gateway_session_id text PRIMARY KEY,
  account_id text NOT NULL REFERENCES accounts(id),
  state_hash text NOT NULL,
  started_by text NOT NULL CHECK (started_by IN ('portal', 'api')),
  return_url text NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  returned_at timestamptz NULL,
  claimed_at timestamptz NULL,
  completed_at timestamptz NULL,
  payment_method_id text NULL REFERENCES payment_methods(id),
  attempt_outcome text NULL,
  attempt_reason text NULL
);
CREATE INDEX IF NOT EXISTS card_setup_sessions_account ON card_setup_sessions (account_id, created_at DESC);
