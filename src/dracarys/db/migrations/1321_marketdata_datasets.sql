-- Market data uploaded by quants (issue 23 item 2): one OHLCV series of one registered
-- instrument at one timeframe, validated on upload and stored as Parquet under the data
-- dir (`path`, relative to it). Private datasets are their owner's alone; shared ones
-- every signed-in user may list and backtest on.
CREATE TABLE market_datasets (
    id             uuid PRIMARY KEY,
    owner_id       uuid NOT NULL REFERENCES users (id),
    name           text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 120),
    symbol         text NOT NULL REFERENCES instruments (symbol),
    timeframe      text NOT NULL CHECK (timeframe IN ('1m', '5m', '15m', '30m', '1h', '4h', '1d')),
    visibility     text NOT NULL CHECK (visibility IN ('private', 'shared')),
    source_format  text NOT NULL CHECK (source_format IN ('csv', 'parquet')),
    bar_count      integer NOT NULL CHECK (bar_count > 0),
    first_bar_at   timestamptz NOT NULL,
    last_bar_at    timestamptz NOT NULL CHECK (last_bar_at >= first_bar_at),
    size_bytes     bigint NOT NULL CHECK (size_bytes > 0),
    path           text NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL
);
CREATE INDEX market_datasets_owner ON market_datasets (owner_id, created_at DESC);
CREATE INDEX market_datasets_shared ON market_datasets (created_at DESC)
    WHERE visibility = 'shared';
