-- Web Push (issue 20 item 4): the VAPID key pair the platform signs pushes with (made
-- once, at first start), each person's browser subscriptions (one per device), and each
-- push of a notification to one of them.

-- One row, ever: every API replica and worker signs with the same key, and browsers
-- subscribed with its public half keep working across restarts. The private key is
-- sealed with a key derived from the secret key (crypto.vapid_key).
CREATE TABLE push_vapid_keys (
    id                 smallint PRIMARY KEY CHECK (id = 1),
    -- The uncompressed P-256 point, base64url: what the browser's subscribe() takes.
    public_key         text NOT NULL,
    private_key_sealed bytea NOT NULL,
    created_at         timestamptz NOT NULL
);

-- A browser's PushSubscription. The endpoint is the push service's address for that one
-- browser, so it is unique: the same browser subscribing again (or under another account
-- after a sign-out) takes the row over.
CREATE TABLE push_subscriptions (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id),
    endpoint     text NOT NULL UNIQUE,
    -- The browser's P-256 public key and auth secret (RFC 8291), base64url.
    p256dh       text NOT NULL,
    auth         text NOT NULL,
    -- What the person sees in their device list ("Chrome on Linux").
    label        text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id, created_at);

-- One push of a notification to one subscription, sent by the `notifications.push`
-- consumer; `sent_at` makes a redelivered event a no-op. A subscription the push service
-- says is gone (404/410) is deleted, and its unsent pushes with it.
CREATE TABLE push_messages (
    id              uuid PRIMARY KEY,
    notification_id uuid NOT NULL REFERENCES notifications (id),
    subscription_id uuid NOT NULL REFERENCES push_subscriptions (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    -- How often the sweeper put it back on the outbox (as messaging's requeue_count).
    requeue_count   integer NOT NULL DEFAULT 0
);
CREATE INDEX push_messages_unsent ON push_messages (created_at) WHERE sent_at IS NULL;
CREATE INDEX push_messages_subscription ON push_messages (subscription_id);

-- A push delivery is planned like e-mail and SMS: sent at once (its push_messages), held
-- through quiet hours, or dropped (no device subscribed).
ALTER TABLE notification_deliveries DROP CONSTRAINT notification_deliveries_channel_check;
ALTER TABLE notification_deliveries ADD CONSTRAINT notification_deliveries_channel_check
    CHECK (channel IN ('email', 'sms', 'push'));
