-- Paid signal feeds are charged through the wallet: each 30-day period is paid into escrow
-- (released to the mentor, commission split, when the period ends), renewed by a job;
-- a renewal the wallet cannot pay leaves the subscription past_due (no access), a
-- cancelled one keeps access until its paid period ends, then expires.
ALTER TABLE signal_subscriptions DROP CONSTRAINT signal_subscriptions_billing_status_check;
ALTER TABLE signal_subscriptions ADD COLUMN paid_until timestamptz;
ALTER TABLE signal_subscriptions ADD COLUMN periods_paid integer NOT NULL DEFAULT 0;
ALTER TABLE signal_subscriptions ADD COLUMN escrow_id uuid;
-- Paid subscriptions recorded before charging existed are due now.
UPDATE signal_subscriptions SET billing_status = 'past_due', paid_until = started_at
    WHERE billing_status = 'unbilled';
ALTER TABLE signal_subscriptions ADD CONSTRAINT signal_subscriptions_billing_status_check
    CHECK (billing_status IN ('free', 'paid', 'past_due', 'expired'));
ALTER TABLE signal_subscriptions ADD CONSTRAINT signal_subscriptions_paid_until
    CHECK (billing_status = 'free' OR paid_until IS NOT NULL);
CREATE INDEX signal_subscriptions_due ON signal_subscriptions (paid_until)
    WHERE billing_status IN ('paid', 'past_due');
