-- Trading: instruments, market feed positions, paper portfolios, orders, fills (append-
-- only, one per order per bar), positions, equity curves, risk disclaimers and their
-- acknowledgements, hash-chained mentor signals, their outcomes, feed plans,
-- subscriptions and mirrored orders.

CREATE TABLE instruments (
    symbol      text PRIMARY KEY,
    feed        text NOT NULL,
    tick_size   numeric NOT NULL CHECK (tick_size > 0),
    qty_step    numeric NOT NULL CHECK (qty_step > 0),
    min_qty     numeric NOT NULL CHECK (min_qty > 0),
    currency    char(3) NOT NULL DEFAULT 'USD',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX instruments_feed ON instruments (feed);

-- Where each feed's engine stands: the last tick it persisted, in the same transaction
-- as that tick's fills, so a restart resumes right after it.
CREATE TABLE market_feed_state (
    feed              text PRIMARY KEY,
    last_seq          bigint NOT NULL,
    last_market_time  timestamptz NOT NULL,
    last_closes       jsonb NOT NULL DEFAULT '{}',
    updated_at        timestamptz NOT NULL
);

CREATE TABLE risk_disclaimers (
    version       integer PRIMARY KEY,
    body          text NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER risk_disclaimers_append_only BEFORE UPDATE OR DELETE ON risk_disclaimers
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER risk_disclaimers_no_truncate BEFORE TRUNCATE ON risk_disclaimers
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();
INSERT INTO risk_disclaimers (version, body) VALUES (1,
'Paper trading and mentor signals on Dracarys are for education, not investment advice. '
'Simulated results do not include every cost and risk of real markets and do not predict '
'future returns. Trading leveraged or short positions can lose more than you deposit. '
'Mentors share their own views; no one on this platform is your financial adviser. '
'Decide for yourself, and only risk money you can afford to lose.');

CREATE TABLE disclaimer_acknowledgements (
    user_id          uuid NOT NULL REFERENCES users (id),
    version          integer NOT NULL REFERENCES risk_disclaimers (version),
    acknowledged_at  timestamptz NOT NULL,
    source_ip        text,
    PRIMARY KEY (user_id, version)
);
CREATE TRIGGER disclaimer_acknowledgements_append_only
    BEFORE UPDATE OR DELETE ON disclaimer_acknowledgements
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER disclaimer_acknowledgements_no_truncate BEFORE TRUNCATE ON disclaimer_acknowledgements
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();

CREATE TABLE paper_portfolios (
    id                   uuid PRIMARY KEY,
    user_id              uuid NOT NULL REFERENCES users (id),
    name                 text NOT NULL,
    kind                 text NOT NULL DEFAULT 'personal' CHECK (kind IN ('personal', 'signal_book')),
    currency             char(3) NOT NULL,
    starting_cash_minor  bigint NOT NULL CHECK (starting_cash_minor > 0),
    cash_minor           bigint NOT NULL,
    preset               text NOT NULL CHECK (preset IN ('frictionless', 'realistic', 'harsh')),
    max_position_pct     numeric NOT NULL CHECK (max_position_pct > 0 AND max_position_pct <= 1000),
    shared_with          uuid[] NOT NULL DEFAULT '{}',
    epoch                integer NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL,
    reset_at             timestamptz
);
CREATE INDEX paper_portfolios_user ON paper_portfolios (user_id);
CREATE UNIQUE INDEX paper_portfolios_one_signal_book ON paper_portfolios (user_id)
    WHERE kind = 'signal_book';

-- Every insert and update of an order takes the next number, so the engine finds new
-- and changed orders since its last look with one indexed query.
CREATE SEQUENCE paper_order_changes;

CREATE TABLE paper_orders (
    id               uuid PRIMARY KEY,
    portfolio_id     uuid NOT NULL REFERENCES paper_portfolios (id),
    epoch            integer NOT NULL,
    symbol           text NOT NULL REFERENCES instruments (symbol),
    side             text NOT NULL CHECK (side IN ('buy', 'sell')),
    kind             text NOT NULL CHECK (kind IN ('market', 'limit', 'stop', 'stop_limit')),
    role             text NOT NULL DEFAULT 'entry'
        CHECK (role IN ('entry', 'stop_loss', 'take_profit', 'exit')),
    qty              numeric NOT NULL CHECK (qty >= 0),
    limit_price      numeric CHECK (limit_price > 0),
    stop_price       numeric CHECK (stop_price > 0),
    tif              text NOT NULL CHECK (tif IN ('gtc', 'day', 'ioc')),
    preset           text NOT NULL CHECK (preset IN ('frictionless', 'realistic', 'harsh')),
    parent_id        uuid REFERENCES paper_orders (id),
    status           text NOT NULL CHECK (status IN ('waiting_parent', 'working', 'triggered',
                         'filled', 'cancelled', 'expired', 'rejected')),
    filled_qty       numeric NOT NULL DEFAULT 0,
    avg_fill_price   numeric,
    status_reason    text,
    eligible_at      timestamptz,       -- market time: placed + the preset's latency
    day_ends_at      timestamptz,       -- market time: end of a DAY order's trading day
    expires_at       timestamptz,       -- wall time: a signal's expiry
    replaces_id      uuid REFERENCES paper_orders (id),
    signal_id        uuid,
    client_order_id  text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    change_seq       bigint NOT NULL DEFAULT nextval('paper_order_changes')
);
CREATE INDEX paper_orders_portfolio ON paper_orders (portfolio_id, created_at DESC);
CREATE INDEX paper_orders_change ON paper_orders (change_seq);
CREATE INDEX paper_orders_open ON paper_orders (symbol)
    WHERE status IN ('waiting_parent', 'working', 'triggered');
CREATE INDEX paper_orders_signal ON paper_orders (signal_id) WHERE signal_id IS NOT NULL;
CREATE UNIQUE INDEX paper_orders_client_id ON paper_orders (portfolio_id, client_order_id)
    WHERE client_order_id IS NOT NULL;

-- A fill's id is derived from (order id, bar sequence); the unique pair makes a replayed
-- tick unable to fill an order twice.
CREATE TABLE paper_fills (
    id               uuid PRIMARY KEY,
    order_id         uuid NOT NULL REFERENCES paper_orders (id),
    portfolio_id     uuid NOT NULL REFERENCES paper_portfolios (id),
    epoch            integer NOT NULL,
    symbol           text NOT NULL,
    side             text NOT NULL CHECK (side IN ('buy', 'sell')),
    qty              numeric NOT NULL CHECK (qty > 0),
    price            numeric NOT NULL CHECK (price > 0),
    reference_price  numeric NOT NULL,
    slippage_bps     numeric NOT NULL,
    preset           text NOT NULL CHECK (preset IN ('frictionless', 'realistic', 'harsh')),
    feed             text NOT NULL,
    bar_seq          bigint NOT NULL,
    market_time      timestamptz NOT NULL,
    filled_at        timestamptz NOT NULL,
    UNIQUE (order_id, bar_seq)
);
CREATE INDEX paper_fills_portfolio ON paper_fills (portfolio_id, bar_seq);
CREATE TRIGGER paper_fills_append_only BEFORE UPDATE OR DELETE ON paper_fills
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER paper_fills_no_truncate BEFORE TRUNCATE ON paper_fills
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();

CREATE TABLE paper_positions (
    portfolio_id        uuid NOT NULL REFERENCES paper_portfolios (id),
    symbol              text NOT NULL REFERENCES instruments (symbol),
    qty                 numeric NOT NULL,
    avg_price           numeric NOT NULL,
    realized_pnl_minor  bigint NOT NULL DEFAULT 0,
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (portfolio_id, symbol)
);

CREATE TABLE paper_equity (
    portfolio_id  uuid NOT NULL REFERENCES paper_portfolios (id),
    epoch         integer NOT NULL,
    bar_seq       bigint NOT NULL,
    market_time   timestamptz NOT NULL,
    equity_minor  bigint NOT NULL,
    recorded_at   timestamptz NOT NULL,
    PRIMARY KEY (portfolio_id, epoch, bar_seq)
);
CREATE INDEX paper_equity_recorded ON paper_equity (recorded_at);

-- Signals: append-only and hash-chained per mentor. The insert trigger refuses a link
-- that does not extend the chain head or a time before the previous signal's.
CREATE TABLE signals (
    id             uuid PRIMARY KEY,
    mentor_id      uuid NOT NULL REFERENCES users (id),
    chain_seq      bigint NOT NULL CHECK (chain_seq >= 1),
    symbol         text NOT NULL REFERENCES instruments (symbol),
    side           text NOT NULL CHECK (side IN ('buy', 'sell')),
    order_type     text NOT NULL CHECK (order_type IN ('market', 'limit', 'stop')),
    entry_price    numeric CHECK (entry_price > 0),
    stop_loss      numeric CHECK (stop_loss > 0),
    take_profit    numeric CHECK (take_profit > 0),
    size_hint_pct  numeric NOT NULL CHECK (size_hint_pct > 0 AND size_hint_pct <= 100),
    rationale      text NOT NULL,
    expires_at     timestamptz,
    corrects_id    uuid REFERENCES signals (id),
    created_at     timestamptz NOT NULL,
    prev_hash      bytea,
    hash           bytea NOT NULL,
    UNIQUE (mentor_id, chain_seq)
);
CREATE INDEX signals_mentor ON signals (mentor_id, chain_seq DESC);

CREATE FUNCTION trading_signal_chain_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    head signals%ROWTYPE;
BEGIN
    SELECT * INTO head FROM signals WHERE mentor_id = NEW.mentor_id
        ORDER BY chain_seq DESC LIMIT 1;
    IF NOT FOUND THEN
        IF NEW.chain_seq <> 1 OR NEW.prev_hash IS NOT NULL THEN
            RAISE EXCEPTION 'a first signal starts the chain at 1 without a previous hash'
                USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NEW.chain_seq <> head.chain_seq + 1 OR NEW.prev_hash IS DISTINCT FROM head.hash THEN
        RAISE EXCEPTION 'a signal must extend its chain head' USING ERRCODE = 'check_violation';
    ELSIF NEW.created_at < head.created_at THEN
        RAISE EXCEPTION 'a signal cannot be dated before the previous one'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER signals_chain_guard BEFORE INSERT ON signals
    FOR EACH ROW EXECUTE FUNCTION trading_signal_chain_guard();
CREATE TRIGGER signals_append_only BEFORE UPDATE OR DELETE ON signals
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER signals_no_truncate BEFORE TRUNCATE ON signals
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();

-- How each signal ended on the mentor's own signal book: the verified track record.
CREATE TABLE signal_outcomes (
    signal_id           uuid PRIMARY KEY REFERENCES signals (id),
    mentor_id           uuid NOT NULL REFERENCES users (id),
    outcome             text NOT NULL CHECK (outcome IN ('closed', 'expired', 'superseded')),
    entry_price         numeric,
    exit_price          numeric,
    qty                 numeric,
    pnl_minor           bigint,
    r_multiple          numeric,
    fill_latency_ms     bigint,
    entry_slippage_bps  numeric,
    closed_at           timestamptz NOT NULL
);
CREATE INDEX signal_outcomes_mentor ON signal_outcomes (mentor_id, closed_at);
CREATE TRIGGER signal_outcomes_append_only BEFORE UPDATE OR DELETE ON signal_outcomes
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER signal_outcomes_no_truncate BEFORE TRUNCATE ON signal_outcomes
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();

CREATE TABLE signal_feed_plans (
    mentor_id            uuid PRIMARY KEY REFERENCES users (id),
    monthly_price_minor  bigint NOT NULL CHECK (monthly_price_minor >= 0),
    currency             char(3) NOT NULL,
    updated_at           timestamptz NOT NULL
);

CREATE TABLE signal_subscriptions (
    id                    uuid PRIMARY KEY,
    subscriber_id         uuid NOT NULL REFERENCES users (id),
    mentor_id             uuid NOT NULL REFERENCES users (id),
    monthly_price_minor   bigint NOT NULL CHECK (monthly_price_minor >= 0),
    currency              char(3) NOT NULL,
    status                text NOT NULL CHECK (status IN ('active', 'cancelled')),
    -- free | unbilled (paid, charging arrives with the wallet) | paid | past_due
    billing_status        text NOT NULL CHECK (billing_status IN ('free', 'unbilled', 'paid', 'past_due')),
    mirror_portfolio_id   uuid REFERENCES paper_portfolios (id),
    scaling               text CHECK (scaling IN ('size_hint', 'fixed_fraction', 'fixed_units', 'max_risk')),
    scaling_value         numeric CHECK (scaling_value > 0),
    started_at            timestamptz NOT NULL,
    cancelled_at          timestamptz,
    CHECK (subscriber_id <> mentor_id)
);
CREATE UNIQUE INDEX signal_subscriptions_one_active ON signal_subscriptions (subscriber_id, mentor_id)
    WHERE status = 'active';
CREATE INDEX signal_subscriptions_mentor ON signal_subscriptions (mentor_id) WHERE status = 'active';

CREATE TABLE signal_mirrors (
    subscription_id  uuid NOT NULL REFERENCES signal_subscriptions (id),
    signal_id        uuid NOT NULL REFERENCES signals (id),
    portfolio_id     uuid NOT NULL REFERENCES paper_portfolios (id),
    order_id         uuid REFERENCES paper_orders (id),
    qty              numeric,
    skipped_reason   text,
    latency_ms       bigint NOT NULL,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (subscription_id, signal_id),
    CHECK ((order_id IS NULL) <> (skipped_reason IS NULL))
);
