-- The country a user lives in and is billed in (ISO 3166-1 alpha-2; the service checks it
-- against the real list). It decides the VAT on their purchases, so it is a fact the user
-- states on their profile, never a field of the purchase request.
ALTER TABLE user_profiles ADD COLUMN country char(2) CHECK (country ~ '^[A-Z]{2}$');
