-- Issue 16: request hashes of card changes were keyed hashes over the whole body (number, expiry,
-- CVC), checkable against guesses with the hash secret kept in settings. The fingerprint now leaves
-- card data out (http/idempotency.ts); the rows kept under the old one are deleted, answers and
-- all (a replay window of 24 hours is all they were for: the same key sent again runs the request
-- anew, and the card change is refused or saved on its merits).
DELETE FROM idempotent_requests WHERE scope LIKE '% /v1/accounts/:id/payment-method';
