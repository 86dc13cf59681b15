-- Plan change: a change to a cheaper plan (or another interval) waits for the period end on the
-- subscription (both columns or neither); a change to a dearer plan bills the rest of the period
-- with an invoice of the kind 'proration'.
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS scheduled_plan_id text REFERENCES plans(id);
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS scheduled_interval text CHECK (scheduled_interval IN ('month', 'year'));
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_scheduled_change CHECK ((scheduled_plan_id IS NULL) = (scheduled_interval IS NULL));
ALTER TABLE invoices DROP CONSTRAINT IF EXISTS invoices_kind_check;
ALTER TABLE invoices ADD CONSTRAINT invoices_kind_check CHECK (kind IN ('renewal', 'purchase', 'proration'));
-- A proration bills part of a period already billed: the one-invoice-per-period rule is for periods.
DROP INDEX IF EXISTS invoices_one_per_period;
CREATE UNIQUE INDEX invoices_one_per_period ON invoices (subscription_id, period_start) WHERE status <> 'void' AND kind <> 'proration';
