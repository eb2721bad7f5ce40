-- Outbox delivery state: an event handed to the queue (`published_at`, now the last time
-- it was handed over; `attempts` counts the hand-overs) is complete only when every
-- consumer of its topic has committed (`completed_at`). The relay re-delivers events
-- still incomplete after a deadline, to the consumers named in `pending_consumers`.

ALTER TABLE outbox
    ADD COLUMN completed_at      timestamptz,
    ADD COLUMN pending_consumers text[];

-- Rows published before completion was tracked were taken as done then; they stay so,
-- rather than re-delivering up to a week of history to consumers at upgrade.
UPDATE outbox SET completed_at = published_at WHERE published_at IS NOT NULL;

-- The re-delivery sweep reads what was handed over longest ago and is not complete.
CREATE INDEX outbox_incomplete ON outbox (published_at)
    WHERE completed_at IS NULL AND published_at IS NOT NULL;
