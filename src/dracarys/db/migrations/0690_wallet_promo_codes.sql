-- Promo codes (issue 19): one code model for every code a buyer types at checkout. A code
-- takes a fixed amount (in its currency) or a percent (basis points) off a price, within a
-- validity window, up to a number of uses in all and per member, for some kinds of
-- purchase only. Admins issue promo codes anyone may use; points redemption issues codes
-- of the same kind that one member (their owner) may use once.
--
-- Uses are rows (`discount_code_uses`: code, buyer, purchase), written in the purchase's
-- own transaction while it holds the code's row lock; `uses` counts them so the limit is
-- a conditional update the database also checks. A purchase that rolls back takes its use
-- with it; a refund later does not give the use back.
ALTER TABLE discount_codes RENAME COLUMN user_id TO owner_id;
ALTER INDEX discount_codes_user RENAME TO discount_codes_owner;

ALTER TABLE discount_codes
    ALTER COLUMN owner_id DROP NOT NULL,
    ALTER COLUMN redemption_id DROP NOT NULL,
    ALTER COLUMN value_minor DROP NOT NULL,
    ALTER COLUMN currency DROP NOT NULL,
    ALTER COLUMN expires_at DROP NOT NULL,
    ADD COLUMN issuer            text NOT NULL DEFAULT 'points',
    ADD COLUMN created_by        uuid REFERENCES users (id),
    ADD COLUMN kind              text NOT NULL DEFAULT 'fixed',
    ADD COLUMN percent_bps       integer,
    ADD COLUMN valid_from        timestamptz,
    ADD COLUMN max_uses          integer,
    ADD COLUMN max_uses_per_user integer,
    ADD COLUMN uses              integer NOT NULL DEFAULT 0,
    ADD COLUMN purchase_kinds    text[],
    ADD COLUMN description       text,
    ADD COLUMN request_hash      text,
    ADD COLUMN deactivated_at    timestamptz,
    ADD COLUMN deactivated_by    uuid REFERENCES users (id);

CREATE TABLE discount_code_uses (
    code          text NOT NULL REFERENCES discount_codes (code),
    -- The purchase that used the code, e.g. `booking:<id>`: it uses a code once.
    used_for      text NOT NULL,
    user_id       uuid NOT NULL REFERENCES users (id),
    applied_minor bigint NOT NULL CHECK (applied_minor > 0),
    currency      text NOT NULL,
    used_at       timestamptz NOT NULL,
    PRIMARY KEY (code, used_for)
);
CREATE INDEX discount_code_uses_by_user ON discount_code_uses (code, user_id);

-- Points-issued codes keep working: a fixed amount, one use by their owner, for what they
-- paid for (mentor credit: sessions, one by one or in a package), valid from when they
-- were issued.
INSERT INTO discount_code_uses (code, used_for, user_id, applied_minor, currency, used_at)
SELECT code, used_for, owner_id, applied_minor, currency, used_at
FROM discount_codes WHERE used_at IS NOT NULL;

UPDATE discount_codes
SET valid_from = created_at,
    max_uses = 1,
    uses = CASE WHEN used_at IS NULL THEN 0 ELSE 1 END,
    purchase_kinds = CASE WHEN pays_for = 'sessions' THEN ARRAY['session', 'package'] END;

ALTER TABLE discount_codes
    DROP CONSTRAINT discount_codes_use,
    DROP COLUMN used_at,
    DROP COLUMN used_for,
    DROP COLUMN applied_minor,
    DROP COLUMN pays_for,
    ALTER COLUMN valid_from SET NOT NULL,
    ALTER COLUMN issuer DROP DEFAULT,
    ALTER COLUMN kind DROP DEFAULT,
    ADD CONSTRAINT discount_codes_issuer CHECK (
        CASE issuer
            WHEN 'points' THEN redemption_id IS NOT NULL AND owner_id IS NOT NULL
                               AND created_by IS NULL
            WHEN 'admin' THEN redemption_id IS NULL AND created_by IS NOT NULL
        END),
    ADD CONSTRAINT discount_codes_amount CHECK (
        CASE kind
            WHEN 'fixed' THEN value_minor >= 0 AND currency IS NOT NULL AND percent_bps IS NULL
            WHEN 'percent' THEN percent_bps BETWEEN 1 AND 10000 AND value_minor IS NULL
                                AND currency IS NULL
        END),
    ADD CONSTRAINT discount_codes_deactivation
        CHECK ((deactivated_at IS NULL) = (deactivated_by IS NULL)),
    ADD CONSTRAINT discount_codes_window CHECK (expires_at IS NULL OR expires_at > valid_from),
    ADD CONSTRAINT discount_codes_limits CHECK (
        (max_uses IS NULL OR max_uses > 0)
        AND (max_uses_per_user IS NULL OR max_uses_per_user > 0)
        AND uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)),
    ADD CONSTRAINT discount_codes_kinds CHECK (
        purchase_kinds IS NULL
        OR (cardinality(purchase_kinds) > 0
            AND purchase_kinds <@ ARRAY['session', 'cohort', 'signal_feed', 'package']));

CREATE INDEX discount_codes_admin ON discount_codes (created_at DESC) WHERE issuer = 'admin';
