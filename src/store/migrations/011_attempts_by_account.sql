-- An account's payment attempts: the purchase history lists them and Retry counts the customer's
-- own retries of the last day, both by account. Without this index both read the whole table,
-- which after a billing day of a million renewals holds a million rows or more
-- (`node --import tsx bench/history-plan.ts` measures the two statements with and without it).
CREATE INDEX IF NOT EXISTS payment_attempts_account ON payment_attempts (account_id, created_at);
