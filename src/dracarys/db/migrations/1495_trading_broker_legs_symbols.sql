-- Brokers out, finished (issue 23 item 6).
--
-- The symbol each broker knows an instrument by: ours are the registry's, and a real
-- account refuses a symbol it does not list (DEMO), so an instrument with no row here for
-- the member's broker is refused before anything is sent.
CREATE TABLE instrument_broker_symbols (
    symbol         text NOT NULL REFERENCES instruments (symbol) ON DELETE CASCADE,
    broker         text NOT NULL CHECK (broker IN ('alpaca')),
    broker_symbol  text NOT NULL CHECK (broker_symbol <> ''),
    PRIMARY KEY (symbol, broker)
);

-- Of the seeded instruments only Bitcoin trades at Alpaca (as its crypto pair); the
-- synthetic shares, the FX pair, the future and the index have no Alpaca symbol.
INSERT INTO instrument_broker_symbols (symbol, broker, broker_symbol)
SELECT 'BTCUSD', 'alpaca', 'BTC/USD' WHERE EXISTS (SELECT 1 FROM instruments WHERE symbol = 'BTCUSD')
ON CONFLICT DO NOTHING;

-- A routed order now remembers the symbol it went out under, and a bracket's stop-loss
-- and take-profit are routed orders of their own (the broker names them in its answer to
-- the entry: `parent_order_id` is the entry's order). `cancel_requested_at` is set once
-- when a correction or the signal's expiry asks the broker to cancel, so a job that runs
-- twice asks once. A routed order the broker expired ends 'expired'.
ALTER TABLE broker_orders
    ADD COLUMN broker_symbol        text,
    ADD COLUMN role                 text NOT NULL DEFAULT 'entry'
        CHECK (role IN ('entry', 'stop_loss', 'take_profit')),
    ADD COLUMN parent_order_id      uuid REFERENCES broker_orders (order_id),
    ADD COLUMN cancel_requested_at  timestamptz,
    ADD CONSTRAINT broker_orders_leg_has_parent
        CHECK ((role = 'entry') = (parent_order_id IS NULL));
ALTER TABLE broker_orders DROP CONSTRAINT broker_orders_status_check;
ALTER TABLE broker_orders ADD CONSTRAINT broker_orders_status_check
    CHECK (status IN ('pending', 'sent', 'partially_filled', 'filled', 'cancelled',
                      'expired', 'rejected'));
CREATE INDEX broker_orders_parent ON broker_orders (parent_order_id)
    WHERE parent_order_id IS NOT NULL;
-- What the paper loop's expiry looks through on every tick: entries still open at the
-- broker that nobody has asked to cancel.
CREATE INDEX broker_orders_withdrawable ON broker_orders (order_id)
    WHERE role = 'entry' AND cancel_requested_at IS NULL
      AND status IN ('pending', 'sent', 'partially_filled');
