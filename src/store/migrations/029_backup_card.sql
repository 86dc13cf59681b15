-- A backup card (#18 item 5): a second card the customer saves with their consent, charged when the
-- main card fails in a way that says it will not work soon (core/backup.ts). It is a payment_methods
-- row with role 'backup'; one active card per account and role. consent_at / consent_text: when the
-- customer agreed and the sentence they agreed to (a backup row always has them).
ALTER TABLE payment_methods ADD COLUMN role text NOT NULL DEFAULT 'primary' CHECK (role IN ('primary', 'backup'));
ALTER TABLE payment_methods ADD COLUMN consent_at timestamptz NULL;
ALTER TABLE payment_methods ADD COLUMN consent_text text NULL;
ALTER TABLE payment_methods ADD CONSTRAINT payment_methods_backup_consent CHECK (role <> 'backup' OR (consent_at IS NOT NULL AND consent_text IS NOT NULL));
DROP INDEX payment_methods_one_active;
CREATE UNIQUE INDEX payment_methods_one_active ON payment_methods (account_id, role) WHERE status = 'active';
-- A card setup on the gateway's hosted page saves the main card or the backup.
ALTER TABLE card_setup_sessions ADD COLUMN purpose text NOT NULL DEFAULT 'primary' CHECK (purpose IN ('primary', 'backup'));
