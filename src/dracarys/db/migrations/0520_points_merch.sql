-- Merch bought with points: the catalogue admins keep, and an order per merch redemption
-- whose fulfilment an admin moves (ordered → packed → shipped → delivered, or cancelled
-- before it ships, which gives the points back). The parcel goes to the member's profile
-- address, read (and opened) by identity when an admin looks; nothing is copied here.
CREATE TABLE points_merch_items (
    code         text PRIMARY KEY CHECK (code ~ '^[a-z0-9][a-z0-9-]{1,39}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    description  text NOT NULL DEFAULT '',
    points       integer NOT NULL CHECK (points > 0),
    stock        integer CHECK (stock >= 0),  -- NULL: not counted
    active       boolean NOT NULL DEFAULT true,
    updated_at   timestamptz NOT NULL
);

CREATE TABLE points_merch_orders (
    redemption_id  uuid PRIMARY KEY REFERENCES points_redemptions (id),
    user_id        uuid NOT NULL REFERENCES users (id),
    item_code      text NOT NULL REFERENCES points_merch_items (code),
    points         integer NOT NULL CHECK (points > 0),
    status         text NOT NULL DEFAULT 'ordered'
                   CHECK (status IN ('ordered', 'packed', 'shipped', 'delivered', 'cancelled')),
    tracking       text,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX points_merch_orders_open ON points_merch_orders (status, created_at)
    WHERE status IN ('ordered', 'packed', 'shipped');
CREATE INDEX points_merch_orders_user ON points_merch_orders (user_id, created_at);
