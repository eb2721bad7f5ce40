-- TradingView alerts in (issue 23, item 5): each mentor's secret webhook, the alerts it
-- received and what became of them, and how long an alert-sourced signal took from the
-- alert to its broadcast (recorded with the signal, for the track record).

-- A mentor's webhook token, stored as its SHA-256 only (it is shown once). At most one
-- live token per mentor: rotating revokes the old one in the same transaction.
CREATE TABLE alert_webhooks (
    id          uuid PRIMARY KEY,
    mentor_id   uuid NOT NULL REFERENCES users (id),
    token_hash  bytea NOT NULL UNIQUE,
    -- The token's last characters, so the mentor can tell which URL is pasted where.
    token_hint  text NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE UNIQUE INDEX alert_webhooks_live ON alert_webhooks (mentor_id) WHERE revoked_at IS NULL;

-- Every alert a live webhook received: broadcast (with its signal), a duplicate of an
-- earlier broadcast (naming it), or refused with the reason the sender was given.
-- `dedupe_key`: SHA-256 of the alert's `alert_id`, or of its canonical payload without one.
CREATE TABLE trading_alerts (
    id            uuid PRIMARY KEY,
    mentor_id     uuid NOT NULL REFERENCES users (id),
    webhook_id    uuid NOT NULL REFERENCES alert_webhooks (id),
    dedupe_key    bytea,
    outcome       text NOT NULL CHECK (outcome IN ('broadcast', 'duplicate', 'refused')),
    reason        text,
    symbol        text,
    side          text,
    price         numeric,
    signal_id     uuid REFERENCES signals (id),
    duplicate_of  uuid REFERENCES trading_alerts (id),
    fired_at      timestamptz,
    received_at   timestamptz NOT NULL,
    latency_ms    bigint CHECK (latency_ms >= 0),
    -- Arrival order among alerts received at the same instant.
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    CHECK ((outcome = 'broadcast') = (signal_id IS NOT NULL AND dedupe_key IS NOT NULL)),
    CHECK ((outcome = 'duplicate') = (duplicate_of IS NOT NULL)),
    CHECK ((outcome = 'refused') = (reason IS NOT NULL))
);
CREATE INDEX trading_alerts_recent ON trading_alerts (mentor_id, received_at DESC, seq DESC);
-- Duplicates are found among a mentor's recent broadcasts with the same key.
CREATE INDEX trading_alerts_dedupe ON trading_alerts (mentor_id, dedupe_key, received_at DESC)
    WHERE outcome = 'broadcast';

-- How a signal that came from an alert got out: the alert's own time (TradingView's
-- {{timenow}}, when it sent one), when we received it, when its broadcast committed, and
-- the latency from the first of those times it has to the commit.
CREATE TABLE signal_alert_latencies (
    signal_id     uuid PRIMARY KEY REFERENCES signals (id),
    mentor_id     uuid NOT NULL REFERENCES users (id),
    fired_at      timestamptz,
    received_at   timestamptz NOT NULL,
    broadcast_at  timestamptz NOT NULL,
    latency_ms    bigint NOT NULL CHECK (latency_ms >= 0)
);
CREATE INDEX signal_alert_latencies_mentor ON signal_alert_latencies (mentor_id);
