-- Analytics (issue 22): which transaction recorded each event, so the KPI engine's columnar
-- cache can say exactly which events it holds. Times cannot: a transaction that started
-- earlier may commit its events after later ones are visible, and a sequence has the same
-- gap. Every transaction id below a snapshot's xmin has finished for good, so "all events
-- whose recorded_xid is below X" never changes once X is some snapshot's xmin; the cache
-- keeps such prefixes in Parquet and reads only the events at or above X from here.
-- Rows recorded before this column existed keep NULL and count as below every X.
ALTER TABLE analytics_events ADD COLUMN recorded_xid xid8;
ALTER TABLE analytics_events ALTER COLUMN recorded_xid SET DEFAULT pg_current_xact_id();
CREATE INDEX analytics_events_recorded_xid ON analytics_events (recorded_xid);
