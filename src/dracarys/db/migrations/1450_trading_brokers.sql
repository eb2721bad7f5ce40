-- External brokers: a member's linked brokerage account (its API key and secret sealed
-- under their own key, bound to the member and the field) with the opt-in that lets
-- mirrored signals reach it, and the orders routed there. A routed order is a paper
-- order in the mirror portfolio with status 'routed': the paper engine leaves it alone,
-- and the broker's fills come back into it.
CREATE TABLE broker_links (
    user_id            uuid PRIMARY KEY REFERENCES users (id),
    broker             text NOT NULL CHECK (broker IN ('alpaca')),
    api_key_id_sealed  bytea NOT NULL,
    api_secret_sealed  bytea NOT NULL,
    key_hint           text NOT NULL,
    account_number     text NOT NULL,
    opted_in           boolean NOT NULL DEFAULT false,
    linked_at          timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);

-- `client_order_id` is what the broker de-duplicates on: a send repeated after a crash
-- finds the order it already placed instead of placing another.
CREATE TABLE broker_orders (
    order_id         uuid PRIMARY KEY REFERENCES paper_orders (id),
    user_id          uuid NOT NULL REFERENCES users (id),
    portfolio_id     uuid NOT NULL REFERENCES paper_portfolios (id),
    broker           text NOT NULL CHECK (broker IN ('alpaca', 'paper')),
    client_order_id  text NOT NULL UNIQUE,
    broker_order_id  text,
    symbol           text NOT NULL,
    side             text NOT NULL CHECK (side IN ('buy', 'sell')),
    qty              numeric NOT NULL CHECK (qty > 0),
    status           text NOT NULL CHECK (status IN ('pending', 'sent', 'partially_filled',
                         'filled', 'cancelled', 'rejected')),
    status_reason    text,
    filled_qty       numeric NOT NULL DEFAULT 0,
    avg_fill_price   numeric,
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz,
    updated_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX broker_orders_broker_id ON broker_orders (broker, broker_order_id)
    WHERE broker_order_id IS NOT NULL;
CREATE INDEX broker_orders_user ON broker_orders (user_id, created_at DESC);
CREATE INDEX broker_orders_open ON broker_orders (user_id)
    WHERE status IN ('sent', 'partially_filled');

ALTER TABLE paper_orders DROP CONSTRAINT paper_orders_status_check;
ALTER TABLE paper_orders ADD CONSTRAINT paper_orders_status_check
    CHECK (status IN ('waiting_parent', 'working', 'triggered', 'routed',
                      'filled', 'cancelled', 'expired', 'rejected'));
