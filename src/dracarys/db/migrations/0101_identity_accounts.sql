-- Identity: credentials and sessions (refresh tokens, email/phone verification, TOTP),
-- OAuth/OIDC links, profiles, mentor profiles, ratings, endorsements, KYC documents and
-- the hash-chained audit log.

ALTER TABLE users
    ADD COLUMN reputation_score integer NOT NULL DEFAULT 0,
    ADD COLUMN totp_secret_encrypted bytea,
    ADD COLUMN totp_enabled_at timestamptz,
    ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0,
    ADD COLUMN banned_reason text;

ALTER TABLE auth_sessions
    ADD COLUMN two_factor_at timestamptz,
    ADD COLUMN expires_at timestamptz;

-- One row per refresh token ever issued; a session is the token family.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES auth_sessions (id),
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE email_verification_tokens (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    email       text NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX email_verification_tokens_user ON email_verification_tokens (user_id);

CREATE TABLE phone_verification_codes (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    phone       text NOT NULL,
    code_hash   bytea NOT NULL,
    expires_at  timestamptz NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    used_at     timestamptz
);
CREATE INDEX phone_verification_codes_user ON phone_verification_codes (user_id);

CREATE TABLE totp_recovery_codes (
    user_id     uuid NOT NULL REFERENCES users (id),
    code_hash   bytea NOT NULL,
    used_at     timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE oidc_login_states (
    state_hash     bytea PRIMARY KEY,
    provider       text NOT NULL,
    nonce          text NOT NULL,
    code_verifier  text NOT NULL,
    redirect_uri   text NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);

CREATE TABLE oidc_identities (
    provider    text NOT NULL,
    subject     text NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id),
    email       text,
    linked_at   timestamptz NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX oidc_identities_user ON oidc_identities (user_id);

CREATE TABLE user_profiles (
    user_id           uuid PRIMARY KEY REFERENCES users (id),
    headline          text NOT NULL DEFAULT '',
    bio               text NOT NULL DEFAULT '',
    specialties       text[] NOT NULL DEFAULT '{}',
    social_links      jsonb NOT NULL DEFAULT '{}',
    timezone          text,
    experience_level  text,
    trading_style     text,
    completed_at      timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mentor_profiles (
    user_id            uuid PRIMARY KEY REFERENCES users (id),
    specialties        text[] NOT NULL DEFAULT '{}',
    hourly_rate_minor  bigint NOT NULL DEFAULT 0 CHECK (hourly_rate_minor >= 0),
    currency           char(3) NOT NULL DEFAULT 'KES',
    verified           boolean NOT NULL DEFAULT false,
    on_probation       boolean NOT NULL DEFAULT true,
    rating_count       integer NOT NULL DEFAULT 0,
    rating_sum         integer NOT NULL DEFAULT 0,
    total_sessions     integer NOT NULL DEFAULT 0,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- One rating per (session, rater): a redelivered `session.rated` changes nothing.
CREATE TABLE ratings (
    session_id  uuid NOT NULL,
    rater_id    uuid NOT NULL,
    rated_id    uuid NOT NULL REFERENCES users (id),
    rating      smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (session_id, rater_id)
);
CREATE INDEX ratings_rated ON ratings (rated_id);

CREATE TABLE endorsements (
    endorser_id  uuid NOT NULL REFERENCES users (id),
    endorsee_id  uuid NOT NULL REFERENCES users (id),
    skill        text NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (endorser_id, endorsee_id, skill),
    CHECK (endorser_id <> endorsee_id)
);
CREATE INDEX endorsements_endorsee ON endorsements (endorsee_id);

CREATE TABLE kyc_documents (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id),
    doc_type      text NOT NULL CHECK (doc_type IN ('government_id', 'proof_of_address')),
    status        text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'rejected')),
    content_type  text NOT NULL,
    size_bytes    integer NOT NULL,
    stored_name   text NOT NULL UNIQUE,
    uploaded_at   timestamptz NOT NULL,
    reviewed_by   uuid REFERENCES users (id),
    reviewed_at   timestamptz,
    reason        text
);
CREATE INDEX kyc_documents_pending ON kyc_documents (uploaded_at) WHERE status = 'pending';
CREATE INDEX kyc_documents_user ON kyc_documents (user_id);

-- Append-only, hash-chained: each row's hash covers its content and the previous hash.
CREATE TABLE audit_log (
    position     bigint PRIMARY KEY,
    id           uuid NOT NULL UNIQUE,
    occurred_at  timestamptz NOT NULL,
    actor_id     uuid,
    action       text NOT NULL,
    target       text NOT NULL,
    source_ip    text,
    details      jsonb NOT NULL DEFAULT '{}',
    prev_hash    bytea NOT NULL,
    hash         bytea NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();
