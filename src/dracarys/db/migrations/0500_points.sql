-- Points economy: versioned earning rules, the append-only points ledger with its balance
-- rows, pending (money-tied) awards, caps, denials, tiers, badges, streaks, leaderboards,
-- limited-time events, redemptions, email-click tokens, fraud signals, appeals, reports.

-- A rule version is immutable: changing a rule inserts version n+1; ledger entries keep
-- pointing at the version they were computed with.
CREATE TABLE points_rules (
    code             text NOT NULL,
    version          integer NOT NULL CHECK (version >= 1),
    title            text NOT NULL,
    description      text NOT NULL DEFAULT '',
    topic            text,
    kind             text NOT NULL DEFAULT 'fixed' CHECK (kind IN ('fixed', 'percent_of_amount')),
    points           integer NOT NULL CHECK (points >= 0),
    params           jsonb NOT NULL DEFAULT '{}',
    scope            text NOT NULL CHECK (scope IN ('once', 'per_entity')),
    category         text NOT NULL
        CHECK (category IN ('identity', 'learning', 'mentorship', 'social', 'email', 'money',
                            'community')),
    daily_limit      integer CHECK (daily_limit > 0),
    monthly_limit    integer CHECK (monthly_limit > 0),
    pending          boolean NOT NULL DEFAULT false,
    min_kyc_level    smallint NOT NULL DEFAULT 0 CHECK (min_kyc_level BETWEEN 0 AND 3),
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid,
    PRIMARY KEY (code, version)
);
CREATE TRIGGER points_rules_immutable BEFORE UPDATE OR DELETE ON points_rules
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER points_rules_no_truncate BEFORE TRUNCATE ON points_rules
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();

INSERT INTO points_rules
    (code, version, title, description, topic, kind, points, params, scope, category,
     daily_limit, monthly_limit, pending, min_kyc_level)
VALUES
    ('signup_verified', 1, 'Sign up (email verified)', 'Once, when your email is verified.',
     'user.email_verified', 'fixed', 100, '{}', 'once', 'identity', NULL, NULL, false, 0),
    ('profile_completed', 1, 'Complete onboarding profile', 'Once.',
     'profile.completed', 'fixed', 50, '{}', 'once', 'identity', NULL, NULL, false, 0),
    ('lesson_completed', 1, 'Complete a lesson', 'Per lesson.',
     'lesson.completed', 'fixed', 10, '{}', 'per_entity', 'learning', NULL, NULL, false, 0),
    ('assessment_passed', 1, 'Pass an assessment', 'Per assessment.',
     'assessment.passed', 'fixed', 200, '{}', 'per_entity', 'learning', NULL, NULL, false, 0),
    ('session_paid', 1, 'Book a paid mentorship session',
     '5% of the amount paid, converted to points; capped per month; pending until the refund window closes.',
     'session.paid', 'percent_of_amount', 0,
     '{"percent_bps": 500, "points_per_major_unit": {"KES": 1, "USD": 130, "EUR": 140, "GBP": 165}, "default_points_per_major_unit": 1}',
     'per_entity', 'money', NULL, 5000, true, 0),
    ('session_attended', 1, 'Attend a live session',
     'Per session attended; mentors receive twice the points.',
     'session.attended', 'fixed', 30, '{"mentor_multiplier": 2}', 'per_entity', 'mentorship',
     NULL, NULL, false, 0),
    ('social_follow', 1, 'Follow an official social handle (verified)', 'Once per platform.',
     'social.follow_verified', 'fixed', 150, '{}', 'per_entity', 'social', NULL, NULL, false, 0),
    ('social_share', 1, 'Share a public post', 'Limited daily.',
     'social.post_shared', 'fixed', 50, '{}', 'per_entity', 'social', 150, NULL, false, 0),
    ('referral_completed', 1, 'Refer a new paid user',
     'When the referee completes a first paid session; requires KYC level 2; pending until the refund window closes.',
     'referral.completed', 'fixed', 1000, '{}', 'per_entity', 'money', NULL, NULL, true, 2),
    ('first_deposit', 1, 'Make a first deposit',
     'Once; pending until the refund window closes.',
     'deposit.completed', 'fixed', 500, '{}', 'once', 'money', NULL, NULL, true, 0),
    ('kyc_verified', 1, 'Verified KYC completion', 'Once, at KYC level 2.',
     'kyc.approved', 'fixed', 300, '{}', 'once', 'identity', NULL, NULL, false, 0),
    ('email_click', 1, 'Open and click a marketing email',
     'Per email, capped daily; only a click that led to a signed-in session counts.',
     'email.clicked', 'fixed', 2, '{}', 'per_entity', 'email', 20, NULL, false, 0),
    ('mentor_rating', 1, 'Leave a mentor rating', 'Per rated session (a session id is required).',
     'session.rated', 'fixed', 20, '{}', 'per_entity', 'community', NULL, NULL, false, 0);

-- Limited-time events multiply the points of chosen rules inside a window.
CREATE TABLE points_events (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    rule_codes      text[] NOT NULL,
    multiplier_pct  integer NOT NULL CHECK (multiplier_pct BETWEEN 100 AND 1000),
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL CHECK (ends_at > starts_at),
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      uuid
);

CREATE TABLE points_balances (
    user_id            uuid PRIMARY KEY REFERENCES users (id),
    balance            bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
    pending            bigint NOT NULL DEFAULT 0 CHECK (pending >= 0),
    tier               text NOT NULL DEFAULT 'bronze'
        CHECK (tier IN ('bronze', 'silver', 'gold', 'legend')),
    earning_frozen_at  timestamptz,
    frozen_reason      text,
    last_login_at      timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE points_ledger (
    id               uuid PRIMARY KEY,
    seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    user_id          uuid NOT NULL REFERENCES users (id),
    delta            bigint NOT NULL CHECK (delta <> 0),
    reason_code      text NOT NULL,
    category         text NOT NULL,
    related_entity   text,
    rule_code        text,
    rule_version     integer,
    balance_after    bigint NOT NULL CHECK (balance_after >= 0),
    created_at       timestamptz NOT NULL,
    source_ip        text,
    idempotency_key  text NOT NULL UNIQUE,
    FOREIGN KEY (rule_code, rule_version) REFERENCES points_rules (code, version)
);
CREATE INDEX points_ledger_user_seq ON points_ledger (user_id, seq);
CREATE INDEX points_ledger_user_time ON points_ledger (user_id, created_at) INCLUDE (delta, category);
CREATE INDEX points_ledger_time ON points_ledger (created_at);
CREATE TRIGGER points_ledger_append_only BEFORE UPDATE OR DELETE ON points_ledger
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER points_ledger_no_truncate BEFORE TRUNCATE ON points_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();

-- Points counted against caps, per user and period ('d:2026-01-05:r:email_click',
-- 'd:2026-01-05:social_email', 'm:2026-01:r:session_paid').
CREATE TABLE points_usage (
    user_id     uuid NOT NULL,
    period_key  text NOT NULL,
    points      bigint NOT NULL,
    PRIMARY KEY (user_id, period_key)
);

-- Awards that were decided against (cap reached, earning frozen, KYC gate): recorded under
-- the award's idempotency key so the same (rule, user, entity) is never reconsidered, and
-- so a user can see why and appeal.
CREATE TABLE points_denials (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id),
    rule_code        text,
    rule_version     integer,
    related_entity   text,
    points           bigint NOT NULL,
    reason           text NOT NULL,
    idempotency_key  text NOT NULL UNIQUE,
    created_at       timestamptz NOT NULL
);
CREATE INDEX points_denials_user ON points_denials (user_id, created_at);

CREATE TABLE points_pending (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id),
    points           bigint NOT NULL CHECK (points > 0),
    reason_code      text NOT NULL,
    category         text NOT NULL,
    related_entity   text,
    money_ref        text NOT NULL,
    rule_code        text NOT NULL,
    rule_version     integer NOT NULL,
    min_kyc_level    smallint NOT NULL DEFAULT 0,
    source_ip        text,
    idempotency_key  text NOT NULL UNIQUE,
    context          jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL,
    available_at     timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'posted', 'voided')),
    resolved_at      timestamptz,
    ledger_entry_id  uuid,
    void_reason      text,
    FOREIGN KEY (rule_code, rule_version) REFERENCES points_rules (code, version)
);
CREATE INDEX points_pending_due ON points_pending (available_at) WHERE status = 'pending';
CREATE INDEX points_pending_money_ref ON points_pending (money_ref);
CREATE INDEX points_pending_user ON points_pending (user_id);

CREATE TABLE points_badges (
    user_id    uuid NOT NULL REFERENCES users (id),
    badge      text NOT NULL,
    earned_at  timestamptz NOT NULL,
    related    text,
    PRIMARY KEY (user_id, badge)
);

CREATE TABLE points_streaks (
    user_id       uuid PRIMARY KEY REFERENCES users (id),
    current_days  integer NOT NULL,
    longest_days  integer NOT NULL,
    last_day      date NOT NULL,
    timezone      text NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- The leaderboard of the embedded mode (Redis sorted sets hold it when Redis is set).
CREATE TABLE points_leaderboard (
    period_key  text NOT NULL,
    user_id     uuid NOT NULL,
    points      bigint NOT NULL,
    PRIMARY KEY (period_key, user_id)
);
CREATE INDEX points_leaderboard_rank ON points_leaderboard (period_key, points DESC);

CREATE TABLE points_redemptions (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id),
    points           bigint NOT NULL CHECK (points > 0),
    target           text NOT NULL
        CHECK (target IN ('discount', 'credit', 'merch', 'course_unlock', 'mentor_credit')),
    target_ref       text,
    value_minor      bigint NOT NULL,
    currency         text NOT NULL,
    status           text NOT NULL CHECK (status IN ('fulfilled', 'held', 'released')),
    discount_code    text UNIQUE,
    idempotency_key  text NOT NULL,
    request_hash     text NOT NULL,
    ledger_entry_id  uuid,
    created_at       timestamptz NOT NULL,
    release_at       timestamptz,
    released_at      timestamptz,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX points_redemptions_held ON points_redemptions (release_at) WHERE status = 'held';

-- Credits owed to the wallet for released cash-equivalent redemptions, until the wallet
-- reports them landed (`points.credit_landed`).
CREATE TABLE points_wallet_credits (
    redemption_id  uuid PRIMARY KEY REFERENCES points_redemptions (id),
    user_id        uuid NOT NULL REFERENCES users (id),
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    currency       text NOT NULL,
    purpose        text NOT NULL,
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'landed')),
    created_at     timestamptz NOT NULL,
    landed_at      timestamptz
);

-- One token per user per marketing email; only its hash is stored.
CREATE TABLE points_email_tokens (
    token_hash         bytea PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users (id),
    email_id           text NOT NULL,
    created_at         timestamptz NOT NULL,
    clicked_at         timestamptz,
    click_user_agent   text,
    click_ip           text,
    confirmed_at       timestamptz,
    UNIQUE (user_id, email_id)
);

CREATE TABLE points_device_sightings (
    user_id     uuid NOT NULL REFERENCES users (id),
    kind        text NOT NULL CHECK (kind IN ('ip', 'device')),
    value       text NOT NULL,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    PRIMARY KEY (user_id, kind, value)
);
CREATE INDEX points_device_sightings_value ON points_device_sightings (kind, value);

CREATE TABLE points_fraud_flags (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL,
    subject     text NOT NULL,
    user_ids    uuid[] NOT NULL,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cleared', 'confirmed')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX points_fraud_flags_open ON points_fraud_flags (kind, subject) WHERE status = 'open';

CREATE TABLE points_appeals (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id),
    denial_id        uuid REFERENCES points_denials (id),
    entry_id         uuid REFERENCES points_ledger (id),
    message          text NOT NULL,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'granted', 'rejected')),
    granted_points   bigint,
    resolution_note  text,
    reviewer_id      uuid,
    created_at       timestamptz NOT NULL,
    resolved_at      timestamptz
);
CREATE INDEX points_appeals_open ON points_appeals (created_at) WHERE status = 'open';
CREATE INDEX points_appeals_user ON points_appeals (user_id);

-- Idempotency records of POST /points/award: same key → same answer; other body → 422.
CREATE TABLE points_award_requests (
    idempotency_key  text PRIMARY KEY,
    request_hash     text NOT NULL,
    response         jsonb NOT NULL,
    created_at       timestamptz NOT NULL
);

CREATE TABLE points_reports (
    day         date PRIMARY KEY,
    report      jsonb NOT NULL,
    created_at  timestamptz NOT NULL
);

-- The one way points move: lock the user's balance row, apply caps / freeze / balance
-- checks, append the ledger entry and move the balance in the same transaction. Returns
-- the outcome; 'duplicate' returns the entry first written under the same key.
CREATE FUNCTION points_post_entry(
    p_user uuid, p_delta bigint, p_reason text, p_category text, p_related text,
    p_rule_code text, p_rule_version integer, p_key text, p_source_ip text, p_at timestamptz,
    p_caps jsonb, p_partial boolean, p_respect_freeze boolean,
    p_velocity_limit bigint, p_velocity_since timestamptz, p_tier_since timestamptz)
RETURNS TABLE (status text, entry_id uuid, posted bigint, balance_after bigint,
               earned_in_window bigint, tier text)
LANGUAGE plpgsql AS $$
DECLARE
    v_balance bigint;
    v_tier text;
    v_frozen timestamptz;
    v_delta bigint := p_delta;
    v_cap jsonb;
    v_used bigint;
    v_recent bigint;
    v_id uuid;
    v_earned bigint;
    v_old points_ledger%ROWTYPE;
BEGIN
    SELECT * INTO v_old FROM points_ledger l WHERE l.idempotency_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT 'duplicate'::text, v_old.id, v_old.delta, v_old.balance_after,
                            NULL::bigint, NULL::text;
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM points_denials d WHERE d.idempotency_key = p_key) THEN
        RETURN QUERY SELECT 'denied_before'::text, NULL::uuid, 0::bigint, NULL::bigint,
                            NULL::bigint, NULL::text;
        RETURN;
    END IF;

    INSERT INTO points_balances (user_id, updated_at) VALUES (p_user, p_at)
        ON CONFLICT (user_id) DO NOTHING;
    SELECT b.balance, b.tier, b.earning_frozen_at INTO v_balance, v_tier, v_frozen
        FROM points_balances b WHERE b.user_id = p_user FOR UPDATE;

    -- A twin with the same key may have committed while we waited for the lock.
    SELECT * INTO v_old FROM points_ledger l WHERE l.idempotency_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT 'duplicate'::text, v_old.id, v_old.delta, v_old.balance_after,
                            NULL::bigint, NULL::text;
        RETURN;
    END IF;

    IF p_delta > 0 THEN
        IF p_respect_freeze AND v_frozen IS NOT NULL THEN
            RETURN QUERY SELECT 'frozen'::text, NULL::uuid, 0::bigint, v_balance, NULL::bigint, v_tier;
            RETURN;
        END IF;
        FOR v_cap IN SELECT c FROM jsonb_array_elements(coalesce(p_caps, '[]'::jsonb)) c LOOP
            SELECT u.points INTO v_used FROM points_usage u
                WHERE u.user_id = p_user AND u.period_key = v_cap->>'key';
            v_delta := least(v_delta, (v_cap->>'limit')::bigint - coalesce(v_used, 0));
        END LOOP;
        IF v_delta <= 0 OR (v_delta < p_delta AND NOT p_partial) THEN
            RETURN QUERY SELECT 'capped'::text, NULL::uuid, 0::bigint, v_balance, NULL::bigint, v_tier;
            RETURN;
        END IF;
        IF p_velocity_limit IS NOT NULL THEN
            SELECT coalesce(sum(l.delta), 0) INTO v_recent FROM points_ledger l
                WHERE l.user_id = p_user AND l.created_at > p_velocity_since
                  AND l.delta > 0 AND l.category <> 'reversal';
            IF v_recent + v_delta > p_velocity_limit THEN
                UPDATE points_balances SET earning_frozen_at = p_at, frozen_reason = 'velocity'
                    WHERE user_id = p_user;
                RETURN QUERY SELECT 'frozen_velocity'::text, NULL::uuid, 0::bigint, v_balance,
                                    NULL::bigint, v_tier;
                RETURN;
            END IF;
        END IF;
    ELSIF v_balance + v_delta < 0 THEN
        IF NOT p_partial OR v_balance = 0 THEN
            RETURN QUERY SELECT 'insufficient'::text, NULL::uuid, 0::bigint, v_balance,
                                NULL::bigint, v_tier;
            RETURN;
        END IF;
        v_delta := -v_balance;
    END IF;

    v_id := gen_random_uuid();
    INSERT INTO points_ledger (id, user_id, delta, reason_code, category, related_entity,
                               rule_code, rule_version, balance_after, created_at, source_ip,
                               idempotency_key)
        VALUES (v_id, p_user, v_delta, p_reason, p_category, p_related, p_rule_code,
                p_rule_version, v_balance + v_delta, p_at, p_source_ip, p_key);
    UPDATE points_balances SET balance = v_balance + v_delta, updated_at = p_at
        WHERE user_id = p_user;
    IF v_delta > 0 AND p_caps IS NOT NULL AND jsonb_array_length(p_caps) > 0 THEN
        INSERT INTO points_usage (user_id, period_key, points)
            SELECT p_user, c->>'key', v_delta FROM jsonb_array_elements(p_caps) c
            ON CONFLICT (user_id, period_key)
            DO UPDATE SET points = points_usage.points + EXCLUDED.points;
    END IF;
    IF p_tier_since IS NOT NULL THEN
        SELECT coalesce(sum(l.delta), 0) INTO v_earned FROM points_ledger l
            WHERE l.user_id = p_user AND l.created_at > p_tier_since
              AND l.delta > 0 AND l.category <> 'reversal';
    END IF;
    RETURN QUERY SELECT 'posted'::text, v_id, v_delta, v_balance + v_delta, v_earned, v_tier;
END;
$$;
