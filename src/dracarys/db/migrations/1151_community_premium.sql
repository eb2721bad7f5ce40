-- Premium spaces (issue 21 item 1): a mentor's group with a monthly price. Each period a
-- member buys is paid from the wallet into escrow (released to the mentor when the period
-- ends, as a paid signal feed's), one row per period; while one runs, the member is in the
-- group's `community_space_members`; when the last lapses, the scheduled job takes them out.

ALTER TABLE community_spaces
    ADD COLUMN monthly_price_minor bigint NOT NULL DEFAULT 0 CHECK (monthly_price_minor >= 0),
    ADD COLUMN currency char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    -- A cohort group's members are the cohort's, so only a group of its own can be sold.
    ADD CHECK (monthly_price_minor = 0 OR (kind = 'group' AND cohort_id IS NULL));

CREATE TABLE community_space_periods (
    id              uuid PRIMARY KEY,  -- uuid5 of (member, idempotency key): a retry finds it
    space_id        uuid NOT NULL REFERENCES community_spaces (id),
    user_id         uuid NOT NULL REFERENCES users (id),
    amount_minor    bigint NOT NULL CHECK (amount_minor >= 0),  -- after a discount code
    currency        char(3) NOT NULL,
    escrow_id       uuid,  -- NULL when a code paid it all
    paid_from       timestamptz NOT NULL,
    paid_until      timestamptz NOT NULL CHECK (paid_until > paid_from),
    created_at      timestamptz NOT NULL
);
CREATE INDEX community_space_periods_member ON community_space_periods (space_id, user_id, paid_until DESC);
CREATE INDEX community_space_periods_until ON community_space_periods (paid_until);
