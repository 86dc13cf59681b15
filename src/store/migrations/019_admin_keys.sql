-- Named admin keys: a name people recognise, where the key came from (the environment, the first
-- start, or created by an operator), the last four characters to tell keys apart, when it was last
-- used, and revocation. Keys already stored (source 'legacy') were the environment's or the first
-- start's; a start with RENEWD_ADMIN_KEY set revokes them like any previous environment key.
ALTER TABLE admin_keys ADD COLUMN name text NOT NULL DEFAULT 'admin key';
ALTER TABLE admin_keys ADD COLUMN source text NOT NULL DEFAULT 'legacy' CHECK (source IN ('legacy', 'environment', 'generated', 'operator'));
ALTER TABLE admin_keys ADD COLUMN last4 text;
ALTER TABLE admin_keys ADD COLUMN last_used_at timestamptz;
ALTER TABLE admin_keys ADD COLUMN revoked_at timestamptz;
