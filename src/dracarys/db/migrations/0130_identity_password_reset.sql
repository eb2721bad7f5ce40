-- Forgotten passwords: a reset link is single use and lives 30 minutes. Only the token's
-- hash is kept, with the blind index of the address it was mailed to, so a link mailed to
-- an address the account no longer uses does nothing.
CREATE TABLE password_reset_tokens (
    token_hash   bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id),
    email_index  bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX password_reset_tokens_open ON password_reset_tokens (user_id) WHERE used_at IS NULL;
