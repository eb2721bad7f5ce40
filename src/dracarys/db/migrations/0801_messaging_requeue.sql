-- Messaging: how often an unsent message was put back on the outbox by the sweeper.
ALTER TABLE outbound_messages ADD COLUMN requeue_count integer NOT NULL DEFAULT 0;
CREATE INDEX outbound_messages_unsent ON outbound_messages (created_at) WHERE sent_at IS NULL;
