-- A B2C result whose paid amount differs from the payout's is held for an admin:
-- the reserved money stays reserved until they decide.
ALTER TABLE payouts DROP CONSTRAINT payouts_status_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_status_check CHECK (status IN
    ('queued', 'sent', 'awaiting_bank_transfer', 'needs_review', 'completed', 'failed'));
ALTER TABLE payouts ADD COLUMN review_reason text;
CREATE INDEX payouts_needs_review ON payouts (updated_at) WHERE status = 'needs_review';
