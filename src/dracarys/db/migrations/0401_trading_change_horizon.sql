-- The engine finds changed orders by the transaction that changed them, not by a
-- sequence number: sequence numbers are taken in one order and committed in another, so
-- "everything after the highest number seen" can skip an order whose transaction took a
-- lower number but committed later. Every change committed after the engine's previous
-- look was made by a transaction at or past that look's snapshot horizon (the oldest
-- transaction then still running), so `change_xid >= previous horizon` misses nothing.
ALTER TABLE paper_orders ADD COLUMN change_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX paper_orders_change_xid ON paper_orders (change_xid);
