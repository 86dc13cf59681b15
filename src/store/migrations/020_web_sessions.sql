-- Browser sessions of the pages (the customer portal and the operator console), in the database:
-- every instance sees them, a restart keeps them, a revocation reaches them all (issue 16). The
-- cookie holds a random id; only its SHA-256 is stored, so a copy of the table signs nobody in.
CREATE TABLE web_sessions (
  id_hash text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('customer', 'operator')),
  -- Who is signed in: the account (customer) or the admin key (operator). Sessions are capped per owner.
  owner_id text NOT NULL,
  -- Customer: the portal session behind it; its expiry and revocation end this session too.
  portal_session_id text REFERENCES portal_sessions(id) ON DELETE CASCADE,
  csrf text NOT NULL,
  -- The one-shot message of the next page (post/redirect/get), and the hosted card page this
  -- browser opened last ({id, state_hash}: the nonce's hash, never the nonce).
  flash jsonb,
  card_setup jsonb,
  created_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  -- The absolute end, and the end counting idle time (the earlier of it and last seen + idle).
  expires_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL
);
CREATE INDEX web_sessions_owner ON web_sessions (kind, owner_id, created_at);
CREATE INDEX web_sessions_ends ON web_sessions (ends_at);
