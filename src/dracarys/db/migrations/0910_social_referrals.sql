-- Referrals (issue 19 item 2): every member has a code (`/r/{code}`); a visit records a
-- click (UTM parameters, the visitor's address, cluster and device) and leaves a
-- first-party cookie naming it; sign-up maps the last click within the attribution
-- window to the new account; the referee's first paid session completes the referral,
-- unless a fraud rule refuses it (the rule's code and what it found are kept).

CREATE TABLE referral_codes (
    user_id    uuid PRIMARY KEY REFERENCES users (id),
    code       text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9]{6,16}$'),
    created_at timestamptz NOT NULL
);

CREATE TABLE referral_clicks (
    id           uuid PRIMARY KEY,
    referrer_id  uuid NOT NULL REFERENCES users (id),
    utm_source   text,
    utm_medium   text,
    utm_campaign text,
    utm_term     text,
    utm_content  text,
    ip           inet,
    -- The address's network (/24 for IPv4, /48 for IPv6): mobile carriers hand one
    -- person's devices neighbouring addresses.
    ip_cluster   cidr,
    device_hash  bytea,  -- SHA-256 of the device cookie, never the cookie itself
    created_at   timestamptz NOT NULL
);
CREATE INDEX referral_clicks_referrer ON referral_clicks (referrer_id, created_at);

-- Where a member was seen from (their signed-in requests, their sign-ins): what the
-- self-referral rules compare a referee's sign-up with.
CREATE TABLE referral_sightings (
    user_id    uuid NOT NULL REFERENCES users (id),
    kind       text NOT NULL CHECK (kind IN ('ip', 'device')),
    value      text NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    PRIMARY KEY (user_id, kind, value)
);
CREATE INDEX referral_sightings_value ON referral_sightings (kind, value);

-- The fraud rules as data: each can be switched off or tuned without a deploy, and a
-- refusal names the rule that made it.
CREATE TABLE referral_fraud_rules (
    code        text PRIMARY KEY,
    enabled     boolean NOT NULL DEFAULT true,
    params      jsonb NOT NULL DEFAULT '{}',
    description text NOT NULL
);
INSERT INTO referral_fraud_rules (code, params, description) VALUES
    ('shared_device', '{}',
     'The referee signed up or paid from a device the referrer uses'),
    ('shared_ip', '{"lookback_days": 90}',
     'The referee signed up from an address the referrer used recently'),
    ('same_payment_instrument', '{}',
     'The referee paid with an M-Pesa number the referrer also deposits from or is paid to'),
    ('disposable_email', '{}',
     'The referee signed up with a throwaway e-mail domain'),
    ('referral_cycle', '{}',
     'The referee referred the referrer, directly or through others'),
    ('cluster_ring', '{"max_referees": 3, "window_days": 30}',
     'Too many of the referrer''s referees signed up from one network');

CREATE TABLE referrals (
    referee_id     uuid PRIMARY KEY REFERENCES users (id),
    referrer_id    uuid NOT NULL REFERENCES users (id),
    click_id       uuid NOT NULL REFERENCES referral_clicks (id),
    status         text NOT NULL CHECK (status IN ('signed_up', 'completed', 'refused')),
    refusal_rule   text REFERENCES referral_fraud_rules (code),
    refusal_detail text,
    signup_ip      inet,
    signup_cluster cidr,
    signup_device  bytea,
    session_id     uuid,  -- the first paid session, once there is one
    signed_up_at   timestamptz NOT NULL,
    decided_at     timestamptz,
    CHECK (referrer_id <> referee_id),
    CHECK ((status = 'refused') = (refusal_rule IS NOT NULL)),
    CHECK ((status = 'signed_up') = (decided_at IS NULL))
);
CREATE INDEX referrals_referrer ON referrals (referrer_id, signed_up_at DESC);
