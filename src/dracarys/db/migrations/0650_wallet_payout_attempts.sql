-- Every M-Pesa send of a payout is an attempt with its own OriginatorConversationID,
-- recorded before its request leaves; Daraja's acceptance is recorded after. A payout is
-- `sending` (attempt on record, acceptance not), `sent` (Daraja accepted it) or settled,
-- so a process killed between any two steps leaves a state the reconciliation job can
-- finish from by asking Daraja about exactly that attempt.
ALTER TABLE payouts DROP CONSTRAINT payouts_status_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_status_check CHECK (status IN
    ('queued', 'sending', 'sent', 'awaiting_bank_transfer', 'needs_review', 'completed',
     'failed'));

CREATE TABLE payout_attempts (
    originator_conversation_id text PRIMARY KEY,
    payout_id                  uuid NOT NULL REFERENCES payouts (id),
    attempt                    integer NOT NULL CHECK (attempt >= 1),
    status                     text NOT NULL CHECK (status IN
        ('sending', 'accepted', 'refused', 'timed_out', 'not_found', 'failed', 'paid')),
    conversation_id            text,
    receipt                    text,
    detail                     text,
    status_queries             integer NOT NULL DEFAULT 0,
    next_query_at              timestamptz NOT NULL,
    started_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL,
    UNIQUE (payout_id, attempt)
);
CREATE INDEX payout_attempts_open ON payout_attempts (next_query_at)
    WHERE status IN ('sending', 'accepted');

-- Payouts marked `sent` before this migration: those with Daraja's ConversationID were
-- accepted; those without may never have left (the defect this fixes). Both become
-- attempts (their OriginatorConversationID was the payout id) that reconciliation asks
-- Daraja about.
INSERT INTO payout_attempts (originator_conversation_id, payout_id, attempt, status,
                             conversation_id, next_query_at, started_at, updated_at)
SELECT originator_conversation_id, id, greatest(attempts, 1),
       CASE WHEN conversation_id IS NULL THEN 'sending' ELSE 'accepted' END,
       conversation_id, updated_at, updated_at, updated_at
FROM payouts
WHERE status = 'sent' AND method = 'mpesa' AND originator_conversation_id IS NOT NULL;
UPDATE payouts SET status = 'sending', attempts = greatest(attempts, 1)
WHERE status = 'sent' AND method = 'mpesa' AND conversation_id IS NULL;
