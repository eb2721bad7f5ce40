-- Discount codes become a payment instrument of the wallet's (issue 16): the wallet issues
-- them (for the points redemption that bought one), checks them for a quote and spends
-- them inside a purchase, so the domains that sell no longer reach into points to take
-- one. The points redemption keeps the code it bought; whether and where it was spent is
-- the wallet's to say.
CREATE TABLE discount_codes (
    code           text PRIMARY KEY,
    redemption_id  uuid NOT NULL UNIQUE,
    user_id        uuid NOT NULL REFERENCES users (id),
    value_minor    bigint NOT NULL CHECK (value_minor >= 0),
    currency       text NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    used_for       text,
    applied_minor  bigint,
    CONSTRAINT discount_codes_use
        CHECK ((used_at IS NULL) = (used_for IS NULL)
               AND (used_at IS NULL) = (applied_minor IS NULL)
               AND (applied_minor IS NULL OR applied_minor > 0))
);
CREATE INDEX discount_codes_user ON discount_codes (user_id, created_at DESC);

INSERT INTO discount_codes (code, redemption_id, user_id, value_minor, currency, created_at,
                            expires_at, used_at, used_for, applied_minor)
SELECT discount_code, id, user_id, value_minor, currency, created_at, discount_expires_at,
       discount_used_at, discount_used_for, discount_applied_minor
FROM points_redemptions
WHERE discount_code IS NOT NULL;

ALTER TABLE points_redemptions
    DROP CONSTRAINT points_redemptions_discount_use,
    DROP COLUMN discount_used_at,
    DROP COLUMN discount_used_for,
    DROP COLUMN discount_applied_minor;
