-- Identity: personal data sealed at rest (blueprint §9). E-mail, name and phone become
-- AES-256-GCM ciphertexts bound to the user id; keyed blind indexes (HMAC-SHA256) carry
-- the uniqueness of e-mail and phone and the sign-in lookup; the postal address is sealed
-- on the profile. The key comes from the settings, so SQL cannot seal: the plain values of
-- existing rows wait in `plain_*` columns until `seal_plain_personal_data` (run right
-- after the migrations) seals and clears them. Each CHECK is NOT VALID so those rows may
-- wait, yet it holds for every row written from now on; the step validates it at the end.

DROP INDEX users_email_key;
DROP INDEX users_phone_key;
ALTER TABLE users RENAME COLUMN email TO plain_email;
ALTER TABLE users RENAME COLUMN name TO plain_name;
ALTER TABLE users RENAME COLUMN phone TO plain_phone;
ALTER TABLE users
    ALTER COLUMN plain_email DROP NOT NULL,
    ALTER COLUMN plain_name DROP NOT NULL,
    ALTER COLUMN plain_name DROP DEFAULT,
    ADD COLUMN email_sealed bytea,
    ADD COLUMN email_index bytea,
    ADD COLUMN name_sealed bytea,
    ADD COLUMN phone_sealed bytea,
    ADD COLUMN phone_index bytea;
CREATE UNIQUE INDEX users_email_index_key ON users (email_index);
CREATE UNIQUE INDEX users_phone_index_key ON users (phone_index) WHERE phone_index IS NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_personal_data_sealed CHECK (
    email_sealed IS NOT NULL AND email_index IS NOT NULL AND name_sealed IS NOT NULL
    AND (phone_sealed IS NULL) = (phone_index IS NULL)
    AND plain_email IS NULL AND plain_name IS NULL AND plain_phone IS NULL
) NOT VALID;

ALTER TABLE user_profiles ADD COLUMN address_sealed bytea;

-- A verification link or code is checked against the user's current address or number
-- through the blind index; the plain value is not needed.
ALTER TABLE email_verification_tokens RENAME COLUMN email TO plain_email;
ALTER TABLE email_verification_tokens
    ALTER COLUMN plain_email DROP NOT NULL,
    ADD COLUMN email_index bytea,
    ADD CONSTRAINT email_verification_tokens_sealed
        CHECK (plain_email IS NULL AND email_index IS NOT NULL) NOT VALID;

ALTER TABLE phone_verification_codes RENAME COLUMN phone TO plain_phone;
ALTER TABLE phone_verification_codes
    ALTER COLUMN plain_phone DROP NOT NULL,
    ADD COLUMN phone_index bytea,
    ADD CONSTRAINT phone_verification_codes_sealed
        CHECK (plain_phone IS NULL AND phone_index IS NOT NULL) NOT VALID;

ALTER TABLE oidc_identities RENAME COLUMN email TO plain_email;
ALTER TABLE oidc_identities
    ADD COLUMN email_sealed bytea,
    ADD CONSTRAINT oidc_identities_sealed CHECK (plain_email IS NULL) NOT VALID;
