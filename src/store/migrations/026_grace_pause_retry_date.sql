-- Issue 18 items 3 and 4. A help request that waits for an answer holds the downgrade back (up to
-- the policy's help_pause_days): since when (null: not paused), the pause credited to this grace so
-- far, and what the waiting pause added to grace_ends_at in advance (given back at the answer for
-- the time not waited). And the day the customer chose for the next attempt in grace.
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS grace_paused_at timestamptz;
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS grace_pause_ms bigint NOT NULL DEFAULT 0 CHECK (grace_pause_ms >= 0);
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS grace_pause_hold_ms bigint NOT NULL DEFAULT 0 CHECK (grace_pause_hold_ms >= 0);
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS chosen_retry_at timestamptz;
