-- Credit notes (issue 23): money going back on an issued invoice, or an issued invoice cancelled
-- (a cancel or a plan change in grace voids a past-due invoice that was already numbered). Their
-- own series (prefix, year) in document_series, gapless like the invoices', handed out in the
-- transaction that voids the invoice, after the invoice numbers of the same batch (one lock order).
CREATE TABLE credit_notes (
  id text PRIMARY KEY,
  number text NOT NULL UNIQUE,
  number_prefix text NOT NULL,
  number_year int NOT NULL,
  number_seq bigint NOT NULL,
  invoice_id text NOT NULL REFERENCES invoices(id),
  account_id text NOT NULL REFERENCES accounts(id),
  -- The amount credited (never more than the invoice's).
  amount bigint NOT NULL CHECK (amount >= 0),
  currency text NOT NULL,
  reason text NOT NULL,
  -- Seller, buyer, tax rate and plan name as the document shows them (from the invoice's, the seller's as at issue).
  issued jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  UNIQUE (number_prefix, number_year, number_seq)
);
CREATE INDEX credit_notes_invoice ON credit_notes (invoice_id);
CREATE INDEX credit_notes_account ON credit_notes (account_id, created_at);
