-- Identity core: accounts with one role and a KYC level, and the login sessions that
-- access tokens point at (so a session can be revoked before its tokens expire).

CREATE TABLE users (
    id                uuid PRIMARY KEY,
    email             text NOT NULL,
    email_verified_at timestamptz,
    phone             text,
    phone_verified_at timestamptz,
    name              text NOT NULL DEFAULT '',
    role              text NOT NULL DEFAULT 'mentee'
        CHECK (role IN ('mentee', 'mentor', 'admin', 'reviewer', 'observer')),
    kyc_level         smallint NOT NULL DEFAULT 0 CHECK (kyc_level BETWEEN 0 AND 3),
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'banned')),
    password_hash     text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_phone_key ON users (phone) WHERE phone IS NOT NULL;

CREATE TABLE auth_sessions (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    source_ip   text,
    user_agent  text
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);
