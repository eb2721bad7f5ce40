-- Notification templates (issue 20 items 8 and 9): the language each person reads their
-- notifications in, and the texts admins write over the code's.

-- English unless the person chose Swahili on their account page (Kenya first).
ALTER TABLE user_profiles ADD COLUMN language text NOT NULL DEFAULT 'en'
    CHECK (language IN ('en', 'sw'));

-- Every saved version of one (kind, channel, language) text, never changed nor deleted:
-- the newest version is the one delivered. Version 0 is the code's own text and has no
-- row; `follows_code` marks a version that went back to it (a revert to version 0), so
-- the code's text (not a copy of it) is used again. `subject` is the e-mail subject or
-- the in-app title; SMS has none.
CREATE TABLE notification_templates (
    kind          text NOT NULL,
    channel       text NOT NULL CHECK (channel IN ('in_app', 'email', 'sms')),
    language      text NOT NULL CHECK (language IN ('en', 'sw')),
    version       integer NOT NULL CHECK (version > 0),
    subject       text,
    body          text,
    follows_code  boolean NOT NULL DEFAULT false,
    -- The version this one restored, when it was a revert.
    reverted_from integer,
    author_id     uuid NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (kind, channel, language, version),
    CHECK (follows_code OR body IS NOT NULL)
);
