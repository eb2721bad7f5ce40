-- Discount codes bought with points are spent at checkout: once, by their owner, before
-- they expire. The purchase that used a code is named (`discount_used_for`, e.g.
-- `booking:<id>`) with the part of its value it took off the price.
ALTER TABLE points_redemptions
    ADD COLUMN discount_expires_at timestamptz,
    ADD COLUMN discount_used_at timestamptz,
    ADD COLUMN discount_used_for text,
    ADD COLUMN discount_applied_minor bigint;

-- Codes issued before codes could be spent get the validity new ones get (90 days).
UPDATE points_redemptions SET discount_expires_at = created_at + interval '90 days'
WHERE discount_code IS NOT NULL;

ALTER TABLE points_redemptions
    ADD CONSTRAINT points_redemptions_discount_expiry
        CHECK ((discount_code IS NULL) = (discount_expires_at IS NULL)),
    ADD CONSTRAINT points_redemptions_discount_use
        CHECK ((discount_used_at IS NULL) = (discount_used_for IS NULL)
               AND (discount_used_at IS NULL) = (discount_applied_minor IS NULL)
               AND (discount_used_at IS NULL OR discount_code IS NOT NULL)
               AND (discount_applied_minor IS NULL OR discount_applied_minor > 0));
