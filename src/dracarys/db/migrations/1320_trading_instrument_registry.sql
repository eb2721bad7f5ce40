-- The instruments registry (issue 23 item 1): what each symbol is (asset class, name,
-- currency), how it trades (tick size, lot size) and when (its calendar: round the clock,
-- or weekday sessions in its exchange's timezone). A symbol without a live feed is still
-- an instrument: market data may be uploaded for it and backtested.

ALTER TABLE instruments
    ALTER COLUMN feed DROP NOT NULL,
    ADD COLUMN name          text NOT NULL DEFAULT '',
    ADD COLUMN asset_class   text NOT NULL DEFAULT 'equity'
        CHECK (asset_class IN ('equity', 'fx', 'crypto', 'future', 'index')),
    ADD COLUMN calendar      text NOT NULL DEFAULT 'weekdays'
        CHECK (calendar IN ('always', 'weekdays')),
    ADD COLUMN timezone      text NOT NULL DEFAULT 'UTC',
    -- Minutes after local midnight: weekday sessions open and close at these times.
    ADD COLUMN session_opens_min  smallint NOT NULL DEFAULT 0
        CHECK (session_opens_min BETWEEN 0 AND 1439),
    ADD COLUMN session_closes_min smallint NOT NULL DEFAULT 1440
        CHECK (session_closes_min BETWEEN 1 AND 1440),
    ADD CONSTRAINT instruments_crypto_always_open
        CHECK (asset_class <> 'crypto' OR calendar = 'always'),
    ADD CONSTRAINT instruments_session_order CHECK (session_opens_min < session_closes_min);

-- DEMO, TREND and EURUSD replay on the demo feed (daily bars); BTCUSD's seeded series is
-- 24/7 minute bars; ES and SPX are registered for uploaded data.
INSERT INTO instruments (symbol, feed, name, asset_class, currency, tick_size, qty_step,
                         min_qty, calendar, timezone, session_opens_min, session_closes_min)
VALUES
    ('DEMO', 'demo-replay', 'Demo share (synthetic)', 'equity', 'USD', 0.0001, 1, 1,
     'weekdays', 'UTC', 0, 1440),
    ('TREND', 'demo-replay', 'Trending share (synthetic)', 'equity', 'USD', 0.0001, 1, 1,
     'weekdays', 'America/New_York', 570, 960),
    ('EURUSD', 'demo-replay', 'Euro / US dollar (synthetic, mean-reverting)', 'fx', 'USD',
     0.00001, 1000, 1000, 'weekdays', 'UTC', 0, 1440),
    ('BTCUSD', NULL, 'Bitcoin / US dollar (synthetic minute bars)', 'crypto', 'USD', 0.01,
     0.0001, 0.0001, 'always', 'UTC', 0, 1440),
    ('ES', NULL, 'E-mini S&P 500 future', 'future', 'USD', 0.25, 1, 1, 'weekdays',
     'America/Chicago', 510, 900),
    ('SPX', NULL, 'S&P 500 index', 'index', 'USD', 0.01, 1, 1, 'weekdays',
     'America/New_York', 570, 960)
ON CONFLICT (symbol) DO UPDATE SET
    name = EXCLUDED.name, asset_class = EXCLUDED.asset_class,
    calendar = EXCLUDED.calendar, timezone = EXCLUDED.timezone,
    session_opens_min = EXCLUDED.session_opens_min,
    session_closes_min = EXCLUDED.session_closes_min;
