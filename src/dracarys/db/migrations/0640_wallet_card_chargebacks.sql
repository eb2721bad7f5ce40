-- Card chargebacks: a cardholder disputed a Stripe deposit with their bank. While the
-- dispute is open, up to the disputed amount is held in the user's wallet (a pending
-- transfer to Stripe clearing); won, the hold is released; lost, it is taken, and what
-- the wallet could not cover is recorded as unrecovered for the admins.
CREATE TABLE card_chargebacks (
    id                 text PRIMARY KEY,  -- Stripe's dispute id (dp_...)
    deposit_id         uuid NOT NULL REFERENCES wallet_deposits (id),
    user_id            uuid NOT NULL REFERENCES users (id),
    amount_minor       bigint NOT NULL CHECK (amount_minor > 0),
    currency           text NOT NULL,
    reason             text NOT NULL DEFAULT '',
    status             text NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    held_minor         bigint NOT NULL DEFAULT 0 CHECK (held_minor >= 0),
    hold_transfer_id   uuid,
    unrecovered_minor  bigint NOT NULL DEFAULT 0 CHECK (unrecovered_minor >= 0),
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CHECK (held_minor <= amount_minor)
);
CREATE INDEX card_chargebacks_user ON card_chargebacks (user_id, created_at DESC);
CREATE INDEX card_chargebacks_open ON card_chargebacks (created_at) WHERE status = 'open';
