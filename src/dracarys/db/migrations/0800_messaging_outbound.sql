-- Messaging: every transactional e-mail and SMS, rendered when queued and sent by the
-- outbox consumer; `sent_at` makes a redelivered send event a no-op.

CREATE TABLE outbound_messages (
    id           uuid PRIMARY KEY,
    channel      text NOT NULL CHECK (channel IN ('email', 'sms')),
    user_id      uuid,
    recipient    text NOT NULL,
    template     text NOT NULL,
    subject      text NOT NULL DEFAULT '',
    body_text    text NOT NULL,
    body_html    text,
    created_at   timestamptz NOT NULL,
    sent_at      timestamptz,
    provider_id  text
);
CREATE INDEX outbound_messages_user ON outbound_messages (user_id);
