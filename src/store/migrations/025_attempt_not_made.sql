-- An attempt the gateway rate-limited (a 429: nothing was created under its idempotency key) stays
-- pending until it is sent again. A cancel in that wait closes it as 'not_made' instead of letting
-- it charge a renewal the customer has just cancelled (issue 19).
ALTER TABLE payment_attempts DROP CONSTRAINT payment_attempts_outcome_check;
ALTER TABLE payment_attempts ADD CONSTRAINT payment_attempts_outcome_check
  CHECK (outcome IN ('pending', 'succeeded', 'declined', 'requires_action', 'unknown', 'not_made'));
