-- Community moderation (issue 21 items 4-5): posts held by the automatic screen or hidden
-- by weighted flags wait in a review queue with the reason the author is told; staff and
-- moderating members approve, edit or delete them, warn or suspend their authors; an
-- author appeals a decision once. Staff keep a blocklist of link domains.

-- 'removed': deleted by a moderator (kept for the appeal and the record, never shown).
ALTER TABLE community_posts DROP CONSTRAINT community_posts_status_check;
ALTER TABLE community_posts ADD CONSTRAINT community_posts_status_check
    CHECK (status IN ('visible', 'held', 'hidden', 'removed'));
ALTER TABLE community_topics DROP CONSTRAINT community_topics_status_check;
ALTER TABLE community_topics ADD CONSTRAINT community_topics_status_check
    CHECK (status IN ('visible', 'held', 'hidden', 'removed'));

ALTER TABLE community_posts
    -- Why the post is not visible, in words the author is shown.
    ADD COLUMN moderation_reason text,
    -- Waiting for a moderator: held, hidden by flags, or appealed.
    ADD COLUMN in_review boolean NOT NULL DEFAULT false,
    -- The sum of its flags' weights (each the flagger's trust level's `flag_weight`).
    ADD COLUMN flag_weight integer NOT NULL DEFAULT 0 CHECK (flag_weight >= 0),
    -- One appeal per post: the author's words, and when.
    ADD COLUMN appeal text CHECK (length(appeal) BETWEEN 1 AND 2000),
    ADD COLUMN appealed_at timestamptz,
    ADD CHECK ((appeal IS NULL) = (appealed_at IS NULL));
CREATE INDEX community_posts_in_review ON community_posts (created_at) WHERE in_review;

-- One flag per member and post; the weight is the flagger's at the time of flagging.
CREATE TABLE community_flags (
    post_id    uuid NOT NULL REFERENCES community_posts (id),
    flagger_id uuid NOT NULL REFERENCES users (id),
    weight     smallint NOT NULL CHECK (weight > 0),
    reason     text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (post_id, flagger_id)
);

-- Link domains a post may not carry without review (a domain covers its subdomains).
CREATE TABLE community_blocked_domains (
    domain     text PRIMARY KEY CHECK (domain ~ '^([a-z0-9-]+\.)+[a-z]{2,}$'),
    reason     text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    added_by   uuid NOT NULL REFERENCES users (id),
    added_at   timestamptz NOT NULL
);

-- A member may not post until `ends_at`.
CREATE TABLE community_suspensions (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id),
    moderator_id uuid NOT NULL REFERENCES users (id),
    post_id      uuid REFERENCES community_posts (id),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL CHECK (ends_at > starts_at)
);
CREATE INDEX community_suspensions_user ON community_suspensions (user_id, ends_at DESC);

-- Every moderation decision on a post, in order (the hash-chained audit log has them too).
CREATE TABLE community_moderation_actions (
    id           bigserial PRIMARY KEY,
    post_id      uuid NOT NULL REFERENCES community_posts (id),
    moderator_id uuid REFERENCES users (id),  -- NULL: the automatic screen or the flags
    action       text NOT NULL CHECK (action IN (
                     'held', 'hidden', 'appealed', 'approved', 'edited', 'deleted', 'warned',
                     'suspended')),
    reason       text NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX community_moderation_actions_post ON community_moderation_actions (post_id, id);
