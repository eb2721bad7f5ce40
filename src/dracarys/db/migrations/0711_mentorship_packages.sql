-- Mentorship packages (blueprint 2.5): a bundle of sessions of one session type sold at one
-- price and paid once. Each session's share of the price is held in its own escrow from
-- the purchase, so a session held releases exactly its share and an unused one is refunded
-- exactly its share.
CREATE TABLE session_packages (
    id               uuid PRIMARY KEY,
    mentor_id        uuid NOT NULL REFERENCES users (id),
    session_type_id  uuid NOT NULL REFERENCES session_types (id),
    title            text NOT NULL,
    sessions         integer NOT NULL CHECK (sessions BETWEEN 2 AND 50),
    price_minor      bigint NOT NULL CHECK (price_minor > 0),
    currency         char(3) NOT NULL,
    valid_days       integer NOT NULL CHECK (valid_days BETWEEN 7 AND 730),
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL
);
CREATE INDEX session_packages_mentor ON session_packages (mentor_id);

CREATE TABLE package_purchases (
    id               uuid PRIMARY KEY,
    package_id       uuid NOT NULL REFERENCES session_packages (id),
    mentee_id        uuid NOT NULL REFERENCES users (id),
    mentor_id        uuid NOT NULL REFERENCES users (id),
    session_type_id  uuid NOT NULL REFERENCES session_types (id),
    title            text NOT NULL,
    sessions         integer NOT NULL,
    price_minor      bigint NOT NULL,
    -- What the mentee paid: the price less a discount code, split over the credits.
    paid_minor       bigint NOT NULL CHECK (paid_minor >= 0),
    currency         char(3) NOT NULL,
    status           text NOT NULL CHECK (status IN ('active', 'closed')),
    expires_at       timestamptz NOT NULL,
    closed_at        timestamptz,
    idempotency_key  text NOT NULL,
    created_at       timestamptz NOT NULL,
    UNIQUE (mentee_id, idempotency_key)
);
CREATE INDEX package_purchases_mentee ON package_purchases (mentee_id);
CREATE INDEX package_purchases_due ON package_purchases (expires_at) WHERE status = 'active';

-- One row per session of a purchase: available (unbooked), booked (a booking holds it),
-- spent (cancelled late: settled under the policy) or refunded (never used).
CREATE TABLE package_credits (
    purchase_id      uuid NOT NULL REFERENCES package_purchases (id),
    position         integer NOT NULL CHECK (position >= 1),
    amount_minor     bigint NOT NULL CHECK (amount_minor >= 0),
    -- NULL when the credit's share is zero (a discount paid for it).
    escrow_id        uuid,
    status           text NOT NULL CHECK (status IN ('available', 'booked', 'spent', 'refunded')),
    -- Deferred: a booking takes its credit before its own row is written.
    booking_id       uuid REFERENCES session_bookings (id) DEFERRABLE INITIALLY DEFERRED,
    refunded_minor   bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    PRIMARY KEY (purchase_id, position),
    CHECK (status <> 'available' OR booking_id IS NULL),
    CHECK (status <> 'booked' OR booking_id IS NOT NULL)
);
CREATE UNIQUE INDEX package_credits_booking ON package_credits (booking_id)
    WHERE booking_id IS NOT NULL;
