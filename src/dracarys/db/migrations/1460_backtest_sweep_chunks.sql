-- Distributed sweeps (issue 23 item 4): a sweep's combinations are cut into chunks that
-- any worker process may run. A worker leases a chunk (owner and expiry) and renews the
-- lease while it computes; a chunk whose lease expired (its worker died) may be leased
-- again by another. The first finish stores the chunk's metrics, one float64 row per
-- combination, and counts; a second finish of the same chunk changes nothing.
CREATE TABLE backtest_sweep_chunks (
    backtest_id       uuid NOT NULL REFERENCES backtests (id) ON DELETE CASCADE,
    chunk             integer NOT NULL CHECK (chunk >= 0),
    first_combination integer NOT NULL CHECK (first_combination >= 0),
    stop_combination  integer NOT NULL,
    status            text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done')),
    lease_owner       text,
    lease_expires_at  timestamptz,
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    metrics           bytea,
    finished_at       timestamptz,
    PRIMARY KEY (backtest_id, chunk),
    CHECK (stop_combination > first_combination),
    CHECK ((status = 'done') = (metrics IS NOT NULL)),
    CHECK (status <> 'running' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);
CREATE INDEX backtest_sweep_chunks_open ON backtest_sweep_chunks (backtest_id, chunk)
    WHERE status <> 'done';
