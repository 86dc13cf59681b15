-- No-login links in customer e-mails (issue #14): each link is a random token (only its SHA-256 is
-- stored) bound to one account, one purpose (where it lands) and, for invoice purposes, one invoice.
-- A link is exchanged for a portal session as often as needed until it expires or is revoked.
CREATE TABLE IF NOT EXISTS customer_links (
  id text PRIMARY KEY,
  token_hash text NOT NULL UNIQUE,
  account_id text NOT NULL REFERENCES accounts(id),
  purpose text NOT NULL CHECK (purpose IN ('billing', 'retry', 'authenticate', 'help', 'subscription', 'restore', 'history')),
  invoice_id text NULL REFERENCES invoices(id),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz NULL,
  last_used_at timestamptz NULL
);
-- Revoking an account's links, and the console's count of live links.
CREATE INDEX IF NOT EXISTS customer_links_account ON customer_links (account_id) WHERE revoked_at IS NULL;
-- "E-mail me a link" finds the accounts of an address, whatever its case.
CREATE INDEX IF NOT EXISTS accounts_email_lower ON accounts (lower(email));
