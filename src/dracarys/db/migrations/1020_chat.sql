-- Chat between a mentor and a mentee (dracarys.notifications.chat): one conversation per
-- pair, its messages numbered 1, 2, 3… by the conversation's counter in the sending
-- transaction, read positions per member, attachments checked by their bytes, blocks, and
-- reported messages waiting for a moderator.

CREATE TABLE chat_conversations (
    id               uuid PRIMARY KEY,
    mentor_id        uuid NOT NULL REFERENCES users (id),
    mentee_id        uuid NOT NULL REFERENCES users (id),
    -- requested: the mentee's first message waits for the mentor; open; declined.
    status           text NOT NULL CHECK (status IN ('requested', 'open', 'declined')),
    -- What let them talk when it opened: a booking, a paid feed, a cohort, or an accepted request.
    opened_by        text NOT NULL CHECK (opened_by IN ('booking', 'signal_feed', 'cohort', 'request')),
    last_seq         bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    mentor_read_seq  bigint NOT NULL DEFAULT 0,
    mentee_read_seq  bigint NOT NULL DEFAULT 0,
    blocked_by       uuid REFERENCES users (id),
    created_at       timestamptz NOT NULL,
    last_message_at  timestamptz NOT NULL,
    UNIQUE (mentor_id, mentee_id),
    CHECK (mentor_id <> mentee_id),
    CHECK (blocked_by IS NULL OR blocked_by IN (mentor_id, mentee_id))
);
CREATE INDEX chat_conversations_mentee ON chat_conversations (mentee_id, last_message_at DESC);
CREATE INDEX chat_conversations_mentor ON chat_conversations (mentor_id, last_message_at DESC);

CREATE TABLE chat_attachments (
    id               uuid PRIMARY KEY,
    conversation_id  uuid NOT NULL REFERENCES chat_conversations (id),
    uploader_id      uuid NOT NULL REFERENCES users (id),
    content_type     text NOT NULL,
    file_name        text NOT NULL,
    size_bytes       integer NOT NULL CHECK (size_bytes > 0),
    content          bytea NOT NULL,
    created_at       timestamptz NOT NULL
);

CREATE TABLE chat_messages (
    id               uuid NOT NULL UNIQUE,
    conversation_id  uuid NOT NULL REFERENCES chat_conversations (id),
    seq              bigint NOT NULL CHECK (seq >= 1),
    sender_id        uuid NOT NULL REFERENCES users (id),
    kind             text NOT NULL CHECK (kind IN ('text', 'attachment', 'lesson')),
    body             text NOT NULL DEFAULT '',
    attachment_id    uuid REFERENCES chat_attachments (id),
    lesson_id        uuid,
    lesson_title     text,
    idempotency_key  text NOT NULL,
    request_hash     text NOT NULL,
    removed_at       timestamptz,
    created_at       timestamptz NOT NULL,
    search           tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', body || ' ' || coalesce(lesson_title, ''))
    ) STORED,
    PRIMARY KEY (conversation_id, seq),
    -- A retried send returns the first message instead of sending a second.
    UNIQUE (conversation_id, sender_id, idempotency_key),
    CHECK ((kind = 'attachment') = (attachment_id IS NOT NULL)),
    CHECK ((kind = 'lesson') = (lesson_id IS NOT NULL))
);
CREATE INDEX chat_messages_search ON chat_messages USING gin (search);

CREATE TABLE chat_reports (
    id               uuid PRIMARY KEY,
    message_id       uuid NOT NULL REFERENCES chat_messages (id),
    reporter_id      uuid NOT NULL REFERENCES users (id),
    reason           text NOT NULL,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'dismissed', 'removed')),
    resolved_by      uuid REFERENCES users (id),
    resolution_note  text,
    resolved_at      timestamptz,
    created_at       timestamptz NOT NULL,
    UNIQUE (message_id, reporter_id)
);
CREATE INDEX chat_reports_open ON chat_reports (created_at) WHERE status = 'open';
