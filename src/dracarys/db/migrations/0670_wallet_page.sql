-- What the wallet page reads per user without scanning whole tables: the reservations
-- still open in a wallet (pending transfers debiting it, resolved or not: the resolution
-- is looked up by `ledger_transfers_resolve_once`), a mentor's held-back shares not yet
-- released, and a user's points redemptions newest first.
CREATE INDEX ledger_transfers_pending_debits ON ledger_transfers (debit_account_id)
    WHERE kind = 'pending';
CREATE INDEX mentor_holdbacks_unreleased ON mentor_holdbacks (mentor_id)
    WHERE released_at IS NULL;
CREATE INDEX points_redemptions_user ON points_redemptions (user_id, created_at DESC);
