-- Notifications (issue 20): the in-app inbox, what each person wants on which channel,
-- their quiet hours, and the e-mail/SMS deliveries held back (quiet hours) or gathered
-- into the daily digest.

-- One row per notification a person got. (user_id, dedupe_key) is unique: a consumer
-- batch delivered again inserts nothing, so it queues no second e-mail and publishes no
-- second live frame. `in_app` false: the person turned the in-app channel off for its
-- category; the row still anchors the other channels' deliveries.
CREATE TABLE notifications (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    kind        text NOT NULL,
    category    text NOT NULL,
    priority    text NOT NULL CHECK (priority IN ('critical', 'high', 'normal', 'low')),
    title       text NOT NULL,
    body        text NOT NULL,
    link        text,
    dedupe_key  text NOT NULL,
    in_app      boolean NOT NULL,
    -- Its e-mail waits for the person's daily digest (low priority): 'pending', then
    -- 'sent' (or 'dropped': the account closed). Kept here, not as a delivery row, so a
    -- signal to 10,000 followers is one insert.
    digest      text CHECK (digest IN ('pending', 'sent', 'dropped')),
    created_at  timestamptz NOT NULL,
    read_at     timestamptz,
    archived_at timestamptz,
    UNIQUE (user_id, dedupe_key)
);
CREATE INDEX notifications_inbox ON notifications (user_id, created_at DESC, id DESC)
    WHERE in_app;
CREATE INDEX notifications_unread ON notifications (user_id, category)
    WHERE in_app AND read_at IS NULL AND archived_at IS NULL;
CREATE INDEX notifications_digest ON notifications (user_id) WHERE digest = 'pending';

-- A channel switched on or off for a category (no row: the workflow's default, on).
CREATE TABLE notification_preferences (
    user_id    uuid NOT NULL REFERENCES users (id),
    category   text NOT NULL,
    channel    text NOT NULL CHECK (channel IN ('in_app', 'email', 'sms', 'push')),
    enabled    boolean NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, category, channel)
);

-- Local wall-clock times in the person's profile time zone (UTC without one); a window
-- may cross midnight (22:00–07:00).
CREATE TABLE notification_quiet_hours (
    user_id    uuid PRIMARY KEY REFERENCES users (id),
    starts_at  time NOT NULL,
    ends_at    time NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (starts_at <> ends_at)
);

-- An e-mail or SMS of a notification: queued through messaging at once ('sent'), held
-- until quiet hours end ('deferred', `due_at`), or not sent ('dropped': no address, or
-- no verified phone). One per notification and channel.
CREATE TABLE notification_deliveries (
    notification_id uuid NOT NULL REFERENCES notifications (id),
    channel         text NOT NULL CHECK (channel IN ('email', 'sms')),
    -- The notification's person (its foreign key already holds them to an account).
    user_id         uuid NOT NULL,
    state           text NOT NULL CHECK (state IN ('sent', 'deferred', 'dropped')),
    due_at          timestamptz,
    -- What to send later: the template's name and its values (no contact details: the
    -- address is looked up when it goes).
    template        text NOT NULL,
    context         jsonb NOT NULL,
    message_id      uuid,
    created_at      timestamptz NOT NULL,
    settled_at      timestamptz,
    PRIMARY KEY (notification_id, channel),
    CHECK ((state = 'deferred') = (due_at IS NOT NULL))
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (due_at)
    WHERE state = 'deferred';

-- One digest per person and (their local) day, whatever how often the job runs.
CREATE TABLE notification_digests (
    user_id    uuid NOT NULL REFERENCES users (id),
    day        date NOT NULL,
    items      integer NOT NULL,
    message_id uuid,
    sent_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, day)
);
