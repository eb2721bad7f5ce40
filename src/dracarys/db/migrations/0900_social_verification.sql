-- Social verification: follows of our accounts checked per platform, by the platform's API
-- (OAuth: YouTube, X) or by a reviewed manual proof (a screenshot and the profile link:
-- Instagram, TikTok, and X where its API tier refuses the follows lookup).

-- One OAuth round trip: the `state` (stored hashed, single use, 10 minutes) binds the
-- provider's answer to the member who started it; the PKCE verifier stays here.
CREATE TABLE social_oauth_states (
    state_hash     bytea PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id),
    platform       text NOT NULL,
    code_verifier  text NOT NULL,
    redirect_uri   text NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);
CREATE INDEX social_oauth_states_expiry ON social_oauth_states (expires_at);

-- Per member and platform, where the follow stands. `awarded_at` is set once, when the
-- first verification emitted `social.follow_verified` (one award per platform, ever);
-- `revoked_at` when a re-check found the follow gone and `social.follow_revoked` asked
-- points to claw the award back. Tokens of OAuth platforms are sealed (AES-GCM, bound to
-- the member and platform): the refresh token is what the scheduled re-check uses.
CREATE TABLE social_verifications (
    user_id          uuid NOT NULL REFERENCES users (id),
    platform         text NOT NULL CHECK (platform IN ('youtube', 'x', 'instagram', 'tiktok')),
    method           text NOT NULL CHECK (method IN ('oauth', 'manual')),
    status           text NOT NULL
        CHECK (status IN ('verified', 'not_following', 'revoked', 'manual_required')),
    account_id       text,
    account_name     text,
    tokens_sealed    bytea,
    checked_at       timestamptz NOT NULL,
    next_check_at    timestamptz,
    check_failures   integer NOT NULL DEFAULT 0,
    verified_at      timestamptz,
    awarded_at       timestamptz,
    revoked_at       timestamptz,
    revoked_reason   text,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (user_id, platform)
);
-- One account on a platform verifies one member: a second Dracarys account cannot earn
-- with the same channel or handle.
CREATE UNIQUE INDEX social_verifications_account
    ON social_verifications (platform, account_id)
    WHERE account_id IS NOT NULL AND status IN ('verified', 'revoked');
CREATE INDEX social_verifications_due
    ON social_verifications (next_check_at)
    WHERE method = 'oauth' AND status = 'verified';

-- Manual proofs, decided by a reviewer (never the member themself). One pending proof per
-- member and platform; the screenshot is kept as uploaded, its type read from its bytes.
CREATE TABLE social_proofs (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id),
    platform       text NOT NULL CHECK (platform IN ('youtube', 'x', 'instagram', 'tiktok')),
    profile_url    text NOT NULL,
    handle         text NOT NULL,
    content_type   text NOT NULL,
    size_bytes     integer NOT NULL CHECK (size_bytes > 0),
    screenshot     bytea NOT NULL,
    status         text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'rejected')),
    submitted_at   timestamptz NOT NULL,
    reviewer_id    uuid REFERENCES users (id),
    decided_at     timestamptz,
    reason         text,
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE UNIQUE INDEX social_proofs_one_pending
    ON social_proofs (user_id, platform) WHERE status = 'pending';
CREATE INDEX social_proofs_queue ON social_proofs (submitted_at) WHERE status = 'pending';
CREATE INDEX social_proofs_of_user ON social_proofs (user_id, submitted_at);
