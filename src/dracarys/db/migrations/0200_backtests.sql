-- Backtests run on the platform: the request as validated at submission, the job's status
-- and progress, and the results a worker stored (metrics, a down-sampled equity curve with
-- drawdown, the trade list, the sweep ranking). Readers: the owner and whom they share with.
CREATE TABLE backtests (
    id              uuid PRIMARY KEY,
    owner_id        uuid NOT NULL REFERENCES users (id),
    status          text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    kind            text NOT NULL CHECK (kind IN ('single', 'sweep')),
    request         jsonb NOT NULL,
    progress_done   integer NOT NULL DEFAULT 0 CHECK (progress_done >= 0),
    progress_total  integer NOT NULL DEFAULT 1 CHECK (progress_total >= 1),
    metrics         jsonb,
    equity          jsonb,
    trades          jsonb,
    trade_count     integer,
    sweep           jsonb,
    error           text,
    created_at      timestamptz NOT NULL,
    started_at      timestamptz,
    finished_at     timestamptz
);
CREATE INDEX backtests_owner_created ON backtests (owner_id, created_at DESC);

CREATE TABLE backtest_shares (
    backtest_id  uuid NOT NULL REFERENCES backtests (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (backtest_id, user_id)
);
CREATE INDEX backtest_shares_user ON backtest_shares (user_id);
