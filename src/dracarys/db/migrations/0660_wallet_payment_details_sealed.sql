-- Wallet: payment details sealed at rest (blueprint §9). The M-Pesa number of a deposit,
-- a payout's destination (an M-Pesa number or a bank account) and the providers'
-- callbacks as received (which name the payer's number, the payee's registered name)
-- become AES-256-GCM ciphertexts bound to their row id and field. Nothing looks them up
-- by value, so they need no blind index. The key comes from the settings, so SQL cannot
-- seal: existing rows' plain values wait in `plain_*` columns until
-- `seal_plain_payment_details` (run right after the migrations) seals and clears them.
-- Each CHECK is NOT VALID so those rows may wait, yet it holds for every row written from
-- now on; the step validates it at the end.

ALTER TABLE wallet_deposits RENAME COLUMN phone TO plain_phone;
ALTER TABLE wallet_deposits
    ADD COLUMN phone_sealed bytea,
    ADD CONSTRAINT wallet_deposits_sealed CHECK (plain_phone IS NULL) NOT VALID;

ALTER TABLE payouts RENAME COLUMN destination TO plain_destination;
ALTER TABLE payouts
    ALTER COLUMN plain_destination DROP NOT NULL,
    ADD COLUMN destination_sealed bytea,
    ADD CONSTRAINT payouts_sealed
        CHECK (plain_destination IS NULL AND destination_sealed IS NOT NULL) NOT VALID;

ALTER TABLE provider_callbacks RENAME COLUMN payload TO plain_payload;
ALTER TABLE provider_callbacks
    ALTER COLUMN plain_payload DROP NOT NULL,
    ADD COLUMN payload_sealed bytea,
    ADD CONSTRAINT provider_callbacks_sealed
        CHECK (plain_payload IS NULL AND payload_sealed IS NOT NULL) NOT VALID;

-- The callbacks stay append-only but for one change: a plain payload of an older version
-- replaced by its sealed form, once, with nothing else of the row touched.
CREATE FUNCTION provider_callbacks_seal_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.plain_payload IS NOT NULL AND OLD.payload_sealed IS NULL
       AND NEW.plain_payload IS NULL AND NEW.payload_sealed IS NOT NULL
       AND (NEW.id, NEW.provider, NEW.kind, NEW.reference, NEW.received_at)
           IS NOT DISTINCT FROM (OLD.id, OLD.provider, OLD.kind, OLD.reference, OLD.received_at)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER provider_callbacks_append_only ON provider_callbacks;
CREATE TRIGGER provider_callbacks_append_only BEFORE UPDATE OR DELETE ON provider_callbacks
    FOR EACH ROW EXECUTE FUNCTION provider_callbacks_seal_only();
