-- Analytics (issue 22): the append-only stream of domain events copied from the outbox,
-- one row per outbox event (its id is the key, so a redelivery adds nothing). The outbox
-- itself is pruned after a week; this stream is what KPIs, funnels and exports read.

CREATE TABLE analytics_events (
    event_id    uuid PRIMARY KEY,
    user_id     uuid,
    topic       text NOT NULL,
    occurred_at timestamptz NOT NULL,
    properties  jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX analytics_events_topic_time ON analytics_events (topic, occurred_at);
CREATE INDEX analytics_events_user_time ON analytics_events (user_id, occurred_at);
CREATE INDEX analytics_events_time ON analytics_events (occurred_at);

CREATE TRIGGER analytics_events_append_only BEFORE UPDATE OR DELETE ON analytics_events
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER analytics_events_no_truncate BEFORE TRUNCATE ON analytics_events
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();
