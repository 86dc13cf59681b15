-- renewd schema. Same SQL for PGlite and a PostgreSQL server.
-- Money: bigint minor units. Times: timestamptz. Ids: text with a type prefix (acct_…, sub_…).

CREATE TABLE settings (
  key text PRIMARY KEY,
  value jsonb NOT NULL
);

CREATE TABLE admin_keys (
  id text PRIMARY KEY,
  -- SHA-256 of the key; the key itself is shown once and never stored.
  key_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plans (
  id text PRIMARY KEY,
  name text NOT NULL,
  free boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- At most one free plan.
CREATE UNIQUE INDEX plans_one_free ON plans ((true)) WHERE free;

CREATE TABLE plan_prices (
  plan_id text NOT NULL REFERENCES plans(id),
  currency text NOT NULL,
  interval text NOT NULL CHECK (interval IN ('month', 'year')),
  amount bigint NOT NULL CHECK (amount >= 0),
  PRIMARY KEY (plan_id, currency, interval)
);

CREATE TABLE accounts (
  id text PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL,
  locale text NOT NULL,
  domain_zone text NOT NULL,
  currency text NOT NULL,
  time_zone text NOT NULL,
  gateway_customer_ref text,
  created_at timestamptz NOT NULL
);

CREATE TABLE payment_methods (
  id text PRIMARY KEY,
  account_id text NOT NULL REFERENCES accounts(id),
  type text NOT NULL,
  gateway_ref text NOT NULL,
  brand text,
  last4 text,
  exp_month int,
  exp_year int,
  status text NOT NULL CHECK (status IN ('active', 'replaced', 'revoked')),
  created_at timestamptz NOT NULL
);
-- One active payment method per account.
CREATE UNIQUE INDEX payment_methods_one_active ON payment_methods (account_id) WHERE status = 'active';

CREATE TABLE subscriptions (
  id text PRIMARY KEY,
  account_id text NOT NULL REFERENCES accounts(id),
  plan_id text NOT NULL REFERENCES plans(id),
  interval text NOT NULL CHECK (interval IN ('month', 'year')),
  auto_renew boolean NOT NULL DEFAULT true,
  status text NOT NULL CHECK (status IN ('incomplete', 'active', 'past_due', 'downgraded', 'canceled')),
  billing_anchor timestamptz NOT NULL,
  period_index int NOT NULL DEFAULT 0,
  current_period_start timestamptz NOT NULL,
  current_period_end timestamptz NOT NULL,
  grace_ends_at timestamptz,
  next_action_at timestamptz,
  next_action text,
  next_retry_at timestamptz,
  next_retry_why text,
  version int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  CHECK (current_period_end > current_period_start)
);
-- One subscription per account (a plan change updates it; the free plan is the downgraded state).
CREATE UNIQUE INDEX subscriptions_one_per_account ON subscriptions (account_id);
-- The scheduler's only read path: due work, oldest first. Partial, so not-due rows cost nothing.
CREATE INDEX subscriptions_due ON subscriptions (next_action_at) WHERE next_action_at IS NOT NULL;

CREATE TABLE invoices (
  id text PRIMARY KEY,
  account_id text NOT NULL REFERENCES accounts(id),
  subscription_id text NOT NULL REFERENCES subscriptions(id),
  plan_id text NOT NULL REFERENCES plans(id),
  amount bigint NOT NULL CHECK (amount >= 0),
  currency text NOT NULL,
  period_start timestamptz NOT NULL,
  period_end timestamptz NOT NULL,
  status text NOT NULL CHECK (status IN ('open', 'paid', 'past_due', 'uncollectible', 'void')),
  kind text NOT NULL CHECK (kind IN ('renewal', 'purchase')),
  interval text NOT NULL CHECK (interval IN ('month', 'year')),
  failed_at timestamptz,
  reminders_sent int[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  paid_at timestamptz
);
-- The invoice being collected, per subscription: at most one.
CREATE UNIQUE INDEX invoices_one_collecting ON invoices (subscription_id) WHERE status IN ('open', 'past_due');
-- A period is invoiced once: the database itself refuses a second renewal invoice.
CREATE UNIQUE INDEX invoices_one_per_period ON invoices (subscription_id, period_start) WHERE status <> 'void';
CREATE INDEX invoices_account ON invoices (account_id, created_at DESC);

CREATE TABLE payment_attempts (
  id text PRIMARY KEY,
  invoice_id text NOT NULL REFERENCES invoices(id),
  account_id text NOT NULL REFERENCES accounts(id),
  payment_method_id text REFERENCES payment_methods(id),
  number int NOT NULL,
  trigger text NOT NULL,
  idempotency_key text NOT NULL UNIQUE,
  outcome text NOT NULL CHECK (outcome IN ('pending', 'succeeded', 'declined', 'requires_action', 'unknown')),
  reason text,
  retry_class text,
  raw_code text,
  network_code text,
  advice_code text,
  gateway_ref text,
  not_before timestamptz,
  amount bigint NOT NULL,
  currency text NOT NULL,
  created_at timestamptz NOT NULL,
  completed_at timestamptz,
  UNIQUE (invoice_id, number)
);
-- At most one succeeded charge per invoice, enforced by the database.
CREATE UNIQUE INDEX payment_attempts_one_success ON payment_attempts (invoice_id) WHERE outcome = 'succeeded';
-- At most one attempt in flight per invoice.
CREATE UNIQUE INDEX payment_attempts_one_pending ON payment_attempts (invoice_id) WHERE outcome IN ('pending', 'unknown');
CREATE INDEX payment_attempts_pm ON payment_attempts (payment_method_id, created_at);
CREATE INDEX payment_attempts_inflight ON payment_attempts (created_at) WHERE outcome IN ('pending', 'unknown');

CREATE TABLE events (
  id bigserial PRIMARY KEY,
  account_id text,
  subscription_id text,
  invoice_id text,
  type text NOT NULL,
  data jsonb NOT NULL DEFAULT '{}',
  occurred_at timestamptz NOT NULL
);
CREATE INDEX events_account ON events (account_id, id);

-- Outbox of e-mails: written in the same transaction as the change that causes it.
CREATE TABLE notifications (
  id text PRIMARY KEY,
  account_id text REFERENCES accounts(id),
  template text NOT NULL,
  locale text NOT NULL,
  to_address text NOT NULL,
  subject text NOT NULL,
  body_text text NOT NULL,
  body_html text NOT NULL,
  -- Receivers may dedupe on this (at-least-once delivery).
  dedupe_key text NOT NULL UNIQUE,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'kept')),
  attempts int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  last_error text,
  created_at timestamptz NOT NULL,
  sent_at timestamptz
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX notifications_account ON notifications (account_id, created_at);

CREATE TABLE webhook_endpoints (
  id text PRIMARY KEY,
  url text NOT NULL,
  secret text NOT NULL,
  event_types text[] NOT NULL,
  status text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  consecutive_failures int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL
);

CREATE TABLE webhook_deliveries (
  id text PRIMARY KEY,
  endpoint_id text NOT NULL REFERENCES webhook_endpoints(id),
  event_id bigint NOT NULL,
  event_type text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  last_status_code int,
  last_error text,
  created_at timestamptz NOT NULL,
  delivered_at timestamptz,
  UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE dunning_policies (
  -- 'default', 'plan:<id>' or 'zone:<zone>'
  scope text PRIMARY KEY,
  policy jsonb NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE help_requests (
  id text PRIMARY KEY,
  account_id text NOT NULL REFERENCES accounts(id),
  invoice_id text NOT NULL REFERENCES invoices(id),
  message text NOT NULL,
  -- Snapshot of the invoice, its attempts and decline reasons at the time of the request.
  context jsonb NOT NULL,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
  answer text,
  created_at timestamptz NOT NULL,
  answered_at timestamptz,
  closed_at timestamptz
);
CREATE INDEX help_requests_status ON help_requests (status, created_at);

CREATE TABLE portal_sessions (
  id text PRIMARY KEY,
  -- SHA-256 of the token.
  token_hash text NOT NULL UNIQUE,
  account_id text NOT NULL REFERENCES accounts(id),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);

-- Replayed answers of POSTs that carried an Idempotency-Key header.
CREATE TABLE idempotent_requests (
  scope text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  status_code int NOT NULL,
  body jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (scope, key)
);

-- Fixed-window counters for rate limits (manual retries, card changes, help requests).
CREATE TABLE rate_counters (
  key text NOT NULL,
  window_start timestamptz NOT NULL,
  count int NOT NULL,
  PRIMARY KEY (key, window_start)
);
