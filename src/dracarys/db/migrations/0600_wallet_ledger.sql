-- Wallet ledger, shaped after TigerBeetle: immutable accounts (one ledger per currency,
-- flags that bound the balance), immutable transfers (single-phase, or two-phase
-- pending -> post/void), the entries each transfer writes, and one mutable balance row per
-- account kept in the same transaction and checkable against the sum of its entries.

CREATE TABLE ledger_accounts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL,                 -- what the account is for: user_wallet, escrow, ...
    owner_id    uuid,                          -- the user for per-user accounts, NULL for platform
    currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    flags       integer NOT NULL DEFAULT 0 CHECK (flags BETWEEN 0 AND 3),
    created_at  timestamptz NOT NULL,
    UNIQUE NULLS NOT DISTINCT (code, owner_id, currency)
);

-- flags bit 1: debits must not exceed credits (a user wallet never goes below zero);
-- bit 2: credits must not exceed debits. The database itself refuses a violating balance.
CREATE TABLE ledger_balances (
    account_id      bigint PRIMARY KEY REFERENCES ledger_accounts (id),
    flags           integer NOT NULL,
    debits_pending  bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted   bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted  bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    CONSTRAINT debits_must_not_exceed_credits
        CHECK ((flags & 1) = 0 OR debits_posted + debits_pending <= credits_posted),
    CONSTRAINT credits_must_not_exceed_debits
        CHECK ((flags & 2) = 0 OR credits_posted + credits_pending <= debits_posted)
);

CREATE TABLE ledger_transfers (
    id                uuid PRIMARY KEY,
    idempotency_key   text NOT NULL UNIQUE,
    debit_account_id  bigint NOT NULL REFERENCES ledger_accounts (id),
    credit_account_id bigint NOT NULL REFERENCES ledger_accounts (id),
    amount_minor      bigint NOT NULL CHECK (amount_minor >= 0),
    currency          text NOT NULL,
    kind              text NOT NULL
        CHECK (kind IN ('single_phase', 'pending', 'post_pending', 'void_pending')),
    pending_id        uuid REFERENCES ledger_transfers (id),
    timeout_at        timestamptz,
    code              text NOT NULL,            -- business meaning: deposit, withdrawal, ...
    reference         text,
    created_at        timestamptz NOT NULL,
    CHECK (debit_account_id <> credit_account_id),
    CHECK ((kind IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL))
);
-- A pending transfer is resolved (posted or voided) at most once.
CREATE UNIQUE INDEX ledger_transfers_resolve_once ON ledger_transfers (pending_id)
    WHERE pending_id IS NOT NULL;
CREATE INDEX ledger_transfers_open_timeouts ON ledger_transfers (timeout_at)
    WHERE kind = 'pending' AND timeout_at IS NOT NULL;

-- What a transfer did to each account (deltas; resolving a pending transfer writes a
-- negative pending delta). balance_after is the account's posted balance (credits minus
-- debits) after the entry: the running balance of a wallet's history.
CREATE TABLE ledger_entries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transfer_id     uuid NOT NULL REFERENCES ledger_transfers (id),
    account_id      bigint NOT NULL REFERENCES ledger_accounts (id),
    currency        text NOT NULL,
    debits_pending  bigint NOT NULL,
    debits_posted   bigint NOT NULL,
    credits_pending bigint NOT NULL,
    credits_posted  bigint NOT NULL,
    balance_after   bigint NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, id);
CREATE INDEX ledger_entries_transfer ON ledger_entries (transfer_id);

-- Operation-level idempotency (an API call may write several transfers): the first
-- result is kept and replayed; a different body under the same key is refused.
CREATE TABLE wallet_operations (
    scope           text NOT NULL,
    idempotency_key text NOT NULL,
    kind            text NOT NULL,
    request_hash    text NOT NULL,
    result          jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);

CREATE TRIGGER ledger_accounts_append_only BEFORE UPDATE OR DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER ledger_transfers_append_only BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER ledger_transfers_no_truncate BEFORE TRUNCATE ON ledger_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER wallet_operations_append_only BEFORE UPDATE OR DELETE ON wallet_operations
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER wallet_operations_no_truncate BEFORE TRUNCATE ON wallet_operations
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();
