-- Legal invoice numbers (issue 23). An invoice takes its number when it is finalized (paid, or
-- past due: issued and due) in the transaction that persists that change; a voided-while-open
-- invoice never takes one. Numbers run per series (the prefix) and year, without gaps, never reused.
--
-- One counter row per series and year: a batch allocates its block of numbers with one
-- INSERT … ON CONFLICT DO UPDATE … RETURNING, which holds the row's lock until the batch commits,
-- so concurrent finalizations take turns on it and a rolled-back batch gives its numbers back.
CREATE TABLE document_series (
  prefix text NOT NULL,
  year int NOT NULL,
  -- The next sequence number to hand out (the first is 1).
  next bigint NOT NULL CHECK (next >= 1),
  PRIMARY KEY (prefix, year)
);

ALTER TABLE invoices ADD COLUMN number text;
ALTER TABLE invoices ADD COLUMN number_prefix text;
ALTER TABLE invoices ADD COLUMN number_year int;
ALTER TABLE invoices ADD COLUMN number_seq bigint;
ALTER TABLE invoices ADD COLUMN finalized_at timestamptz;
-- What the document shows that could change later (seller, buyer, tax rate, plan name), as it was
-- at finalization: a changed setting never alters an issued invoice.
ALTER TABLE invoices ADD COLUMN issued jsonb;
-- Invoices already final when numbering began keep no number (renewd verify leaves them out).
ALTER TABLE invoices ADD COLUMN pre_numbering boolean NOT NULL DEFAULT false;
UPDATE invoices SET pre_numbering = true WHERE status IN ('paid', 'past_due', 'uncollectible');
ALTER TABLE invoices ADD CONSTRAINT invoices_number_parts CHECK ((number IS NULL) = (number_seq IS NULL) AND (number IS NULL) = (finalized_at IS NULL));
CREATE UNIQUE INDEX invoices_number ON invoices (number) WHERE number IS NOT NULL;
CREATE UNIQUE INDEX invoices_number_seq ON invoices (number_prefix, number_year, number_seq) WHERE number IS NOT NULL;

-- A receipt's no-login link to its invoice's PDF (the e-mail links of issue 14 get a purpose).
ALTER TABLE customer_links DROP CONSTRAINT IF EXISTS customer_links_purpose_check;
ALTER TABLE customer_links ADD CONSTRAINT customer_links_purpose_check CHECK (purpose IN ('billing', 'retry', 'authenticate', 'help', 'subscription', 'restore', 'history', 'invoice'));

-- The account's billing details for its documents (the customer edits them in Billing information).
-- The name on documents (null: the account's name), the address (lines), the buyer's VAT id.
ALTER TABLE accounts ADD COLUMN billing_name text;
ALTER TABLE accounts ADD COLUMN billing_address text;
ALTER TABLE accounts ADD COLUMN vat_id text;
