-- Affiliates (issue 19 item 3): a member applies, an admin approves with terms (a share
-- of the platform's fee on the payments of the people the affiliate referred, for a
-- number of months after each one signed up). Each commission is a pending transfer in
-- the wallet's ledger (platform revenue to the affiliate's wallet) until the refund
-- window closes, then posted (payable) and paid in the weekly payout run; a refund or a
-- chargeback reverses it (voids the pending transfer, or takes back what was posted,
-- recording what the wallet could not cover).

CREATE TABLE affiliates (
    user_id       uuid PRIMARY KEY REFERENCES users (id),
    status        text NOT NULL CHECK (status IN ('applied', 'approved', 'rejected')),
    website       text NOT NULL,
    audience      text NOT NULL,
    promotion     text NOT NULL,
    share_bps     integer CHECK (share_bps BETWEEN 1 AND 10000),
    months        integer CHECK (months BETWEEN 1 AND 120),
    applied_at    timestamptz NOT NULL,
    decided_at    timestamptz,
    decided_by    uuid REFERENCES users (id),
    decision_note text,
    CHECK ((status = 'approved') = (share_bps IS NOT NULL AND months IS NOT NULL)),
    CHECK ((status = 'applied') = (decided_at IS NULL))
);
CREATE INDEX affiliates_open ON affiliates (applied_at) WHERE status = 'applied';

CREATE TABLE affiliate_commissions (
    id                uuid PRIMARY KEY,
    affiliate_id      uuid NOT NULL REFERENCES affiliates (user_id),
    referee_id        uuid NOT NULL REFERENCES users (id),
    payment_id        uuid NOT NULL,  -- the charge or escrow the fee was earned on
    source            text NOT NULL CHECK (source IN ('charge', 'escrow')),
    payment_minor     bigint NOT NULL CHECK (payment_minor > 0),
    fee_minor         bigint NOT NULL CHECK (fee_minor > 0),
    share_bps         integer NOT NULL,
    amount_minor      bigint NOT NULL CHECK (amount_minor > 0),
    currency          text NOT NULL,
    status            text NOT NULL CHECK (status IN ('pending', 'payable', 'paid', 'reversed')),
    transfer_id       uuid NOT NULL REFERENCES ledger_transfers (id),
    payable_at        timestamptz NOT NULL,
    reversed_minor    bigint NOT NULL DEFAULT 0 CHECK (reversed_minor >= 0),
    unrecovered_minor bigint NOT NULL DEFAULT 0 CHECK (unrecovered_minor >= 0),
    payout_id         uuid,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    UNIQUE (affiliate_id, payment_id),
    CHECK (reversed_minor <= amount_minor),
    CHECK (unrecovered_minor <= reversed_minor),
    CHECK ((status = 'paid') = (payout_id IS NOT NULL) OR status = 'reversed')
);
CREATE INDEX affiliate_commissions_due ON affiliate_commissions (payable_at)
    WHERE status = 'pending';
CREATE INDEX affiliate_commissions_affiliate ON affiliate_commissions (affiliate_id, created_at);
CREATE INDEX affiliate_commissions_referee ON affiliate_commissions (referee_id);
