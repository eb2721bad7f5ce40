-- Payments around the ledger: deposits through Stripe and M-Pesa, provider event de-dup,
-- withdrawals and weekly payouts, escrow with disputes and holdbacks, charges with
-- gap-free numbered invoices, and mentor bonuses. Money itself only moves in the ledger;
-- these rows carry the workflow state that points at ledger transfers.

CREATE TABLE wallet_deposits (
    id                  uuid PRIMARY KEY,
    user_id             uuid NOT NULL REFERENCES users (id),
    method              text NOT NULL CHECK (method IN ('stripe', 'mpesa')),
    amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
    currency            text NOT NULL,
    status              text NOT NULL CHECK (status IN ('pending', 'completed', 'failed')),
    pending_transfer_id uuid NOT NULL REFERENCES ledger_transfers (id),
    provider_ref        text,
    provider_receipt    text,
    phone               text,
    failure_reason      text,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    UNIQUE (method, provider_ref)
);
CREATE INDEX wallet_deposits_user ON wallet_deposits (user_id, created_at);
CREATE INDEX wallet_deposits_open ON wallet_deposits (created_at) WHERE status = 'pending';

CREATE TABLE stripe_events (
    id          text PRIMARY KEY,
    type        text NOT NULL,
    received_at timestamptz NOT NULL
);

CREATE TABLE stripe_refunds (
    id                  uuid PRIMARY KEY,
    deposit_id          uuid NOT NULL REFERENCES wallet_deposits (id),
    stripe_refund_id    text UNIQUE,
    amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
    currency            text NOT NULL,
    status              text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    pending_transfer_id uuid NOT NULL REFERENCES ledger_transfers (id),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);

-- Every provider callback as received, for audit; never changed.
CREATE TABLE provider_callbacks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider    text NOT NULL,
    kind        text NOT NULL,
    reference   text,
    payload     jsonb NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE TRIGGER provider_callbacks_append_only BEFORE UPDATE OR DELETE ON provider_callbacks
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER provider_callbacks_no_truncate BEFORE TRUNCATE ON provider_callbacks
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();

CREATE TABLE payout_batches (
    id         uuid PRIMARY KEY,
    period     text NOT NULL,
    currency   text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (period, currency)
);

CREATE TABLE payouts (
    id                         uuid PRIMARY KEY,
    user_id                    uuid NOT NULL REFERENCES users (id),
    batch_id                   uuid REFERENCES payout_batches (id),
    kind                       text NOT NULL CHECK (kind IN ('withdrawal', 'scheduled')),
    method                     text NOT NULL CHECK (method IN ('mpesa', 'bank')),
    destination                text NOT NULL,
    amount_minor               bigint NOT NULL CHECK (amount_minor > 0),
    currency                   text NOT NULL,
    status                     text NOT NULL CHECK (status IN
        ('queued', 'sent', 'awaiting_bank_transfer', 'completed', 'failed')),
    attempts                   integer NOT NULL DEFAULT 0,
    next_attempt_at            timestamptz,
    pending_transfer_id        uuid NOT NULL REFERENCES ledger_transfers (id),
    originator_conversation_id text UNIQUE,
    conversation_id            text,
    provider_receipt           text,
    failure_reason             text,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL,
    UNIQUE (batch_id, user_id)
);
CREATE INDEX payouts_user ON payouts (user_id, created_at);
CREATE INDEX payouts_due ON payouts (next_attempt_at) WHERE status = 'queued';

CREATE TABLE mentor_contracts (
    mentor_id  uuid PRIMARY KEY REFERENCES users (id),
    share_bps  integer NOT NULL CHECK (share_bps BETWEEN 0 AND 10000),
    updated_at timestamptz NOT NULL
);

CREATE TABLE escrows (
    id                  uuid PRIMARY KEY,
    payer_id            uuid NOT NULL REFERENCES users (id),
    mentor_id           uuid NOT NULL REFERENCES users (id),
    amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
    currency            text NOT NULL,
    reference           text NOT NULL,
    status              text NOT NULL CHECK (status IN ('held', 'disputed', 'released', 'refunded')),
    pending_transfer_id uuid NOT NULL REFERENCES ledger_transfers (id),
    mentor_share_bps    integer NOT NULL,
    vat_rate_bps        integer NOT NULL,
    auto_release_at     timestamptz NOT NULL,
    released_minor      bigint NOT NULL DEFAULT 0,
    refunded_minor      bigint NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL,
    resolved_at         timestamptz
);
CREATE INDEX escrows_due ON escrows (auto_release_at) WHERE status = 'held';
CREATE INDEX escrows_reference ON escrows (reference);

CREATE TABLE escrow_disputes (
    id                uuid PRIMARY KEY,
    escrow_id         uuid NOT NULL UNIQUE REFERENCES escrows (id),
    opened_by         uuid NOT NULL REFERENCES users (id),
    reason            text NOT NULL,
    evidence          jsonb NOT NULL DEFAULT '[]',
    status            text NOT NULL CHECK (status IN ('open', 'resolved')),
    refund_minor      bigint,
    resolved_by       uuid REFERENCES users (id),
    resolution_note   text,
    created_at        timestamptz NOT NULL,
    resolved_at       timestamptz
);
CREATE INDEX escrow_disputes_open ON escrow_disputes (created_at) WHERE status = 'open';

CREATE TABLE mentor_holdbacks (
    id           uuid PRIMARY KEY,
    escrow_id    uuid NOT NULL UNIQUE REFERENCES escrows (id),
    mentor_id    uuid NOT NULL REFERENCES users (id),
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    currency     text NOT NULL,
    release_at   timestamptz NOT NULL,
    released_at  timestamptz,
    created_at   timestamptz NOT NULL
);
CREATE INDEX mentor_holdbacks_due ON mentor_holdbacks (release_at) WHERE released_at IS NULL;

-- One counter row per year, locked by the transaction that takes a number, so numbers
-- come without gaps (a rolled-back charge gives its number back).
CREATE TABLE invoice_counters (
    year        integer PRIMARY KEY,
    last_number integer NOT NULL
);

CREATE TABLE invoices (
    id           uuid PRIMARY KEY,
    number       text NOT NULL UNIQUE,
    year         integer NOT NULL,
    seq          integer NOT NULL,
    user_id      uuid NOT NULL REFERENCES users (id),
    description  text NOT NULL,
    net_minor    bigint NOT NULL,
    vat_minor    bigint NOT NULL,
    gross_minor  bigint NOT NULL CHECK (gross_minor = net_minor + vat_minor),
    currency     text NOT NULL,
    country      text NOT NULL,
    vat_rate_bps integer NOT NULL,
    charge_id    uuid NOT NULL UNIQUE,
    issued_at    timestamptz NOT NULL,
    UNIQUE (year, seq)
);
CREATE INDEX invoices_issued ON invoices (issued_at);
CREATE TRIGGER invoices_append_only BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER invoices_no_truncate BEFORE TRUNCATE ON invoices
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();

CREATE TABLE wallet_charges (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id),
    purpose      text NOT NULL,
    reference    text NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    currency     text NOT NULL,
    country      text NOT NULL,
    escrow_id    uuid REFERENCES escrows (id),
    created_at   timestamptz NOT NULL
);
CREATE INDEX wallet_charges_user ON wallet_charges (user_id, created_at);
CREATE TRIGGER wallet_charges_append_only BEFORE UPDATE OR DELETE ON wallet_charges
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER wallet_charges_no_truncate BEFORE TRUNCATE ON wallet_charges
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();

CREATE TABLE mentor_bonuses (
    mentor_id      uuid NOT NULL REFERENCES users (id),
    month          text NOT NULL,
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    currency       text NOT NULL,
    avg_rating     numeric(3, 2) NOT NULL,
    attendance_bps integer NOT NULL,
    transfer_id    uuid NOT NULL REFERENCES ledger_transfers (id),
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (mentor_id, month)
);
