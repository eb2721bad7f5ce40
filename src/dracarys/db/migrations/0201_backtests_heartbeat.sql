-- A running backtest's worker touches heartbeat_at while it computes. A run whose
-- heartbeat has gone quiet belongs to a worker that died: another may claim it (and a
-- broker re-delivering a message still being processed finds the run alive, and leaves
-- it alone).
ALTER TABLE backtests ADD COLUMN heartbeat_at timestamptz;
CREATE INDEX backtests_unfinished ON backtests (created_at) WHERE status IN ('queued', 'running');
