-- Why a routed copy was asked to cancel (its signal expired or was corrected), kept with
-- the request: the broker's trade-update stream may report the cancel before the request's
-- own consumer reads the answer, and the order's reason must say why either way.
ALTER TABLE broker_orders ADD COLUMN cancel_reason text;
