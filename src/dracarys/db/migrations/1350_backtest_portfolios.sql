-- Multi-asset backtests (issue 23 item 3): one strategy over several datasets with shared
-- cash. Such a run is of kind 'portfolio'; its metrics and equity are the portfolio's and
-- `assets` holds one row per symbol (contribution, round trips, exposure, fees).
ALTER TABLE backtests ADD COLUMN assets jsonb;
ALTER TABLE backtests DROP CONSTRAINT backtests_kind_check;
ALTER TABLE backtests ADD CONSTRAINT backtests_kind_check
    CHECK (kind IN ('single', 'sweep', 'portfolio'));
