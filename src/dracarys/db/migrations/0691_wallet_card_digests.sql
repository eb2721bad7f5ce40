-- The card a Stripe deposit was paid with, as a digest of Stripe's card fingerprint
-- (sha256 of "card:" + fingerprint; the fingerprint itself is not kept): equal digests are
-- the same card, which the referral rules compare like the M-Pesa numbers' digests. NULL
-- when the deposit is not a card's or Stripe did not say (the deposit completes anyway).
ALTER TABLE wallet_deposits ADD COLUMN card_digest text
    CONSTRAINT wallet_deposits_card_digest_hex CHECK (card_digest ~ '^[0-9a-f]{64}$');
