-- Withdrawal holds (dracarys.wallet.holds): while a user has an active hold, the wallet
-- opens no payout for them (withdrawals are refused, weekly payouts skip them). Another
-- domain places a hold under its own reference (the AML case that asked for it) and
-- releases it by the same reference; a released hold stays as history.

CREATE TABLE withdrawal_holds (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    reference    text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
    placed_at    timestamptz NOT NULL,
    released_at  timestamptz,
    CHECK (released_at IS NULL OR released_at >= placed_at)
);
-- One active hold per (user, reference): placing it again changes nothing.
CREATE UNIQUE INDEX withdrawal_holds_active
    ON withdrawal_holds (user_id, reference) WHERE released_at IS NULL;
