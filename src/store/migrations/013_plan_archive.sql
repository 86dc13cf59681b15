-- Archived plans: no longer bought or changed to (the customer's choices hide them), while the
-- subscriptions already on them keep renewing at their price. NULL: the plan is on offer.
ALTER TABLE plans ADD COLUMN IF NOT EXISTS archived_at timestamptz NULL;
