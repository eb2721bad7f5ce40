-- Tracked shares (issue 19 item 5): a member shares something public (a closed signal, a
-- certificate, a badge, a mentor's track record) on a channel through a short link; the
-- link's visits are counted, and the share earns once enough distinct signed-in people
-- who are not the sharer followed it.

-- The card a share shows on social sites: a PNG rendered once per content (its SHA-256),
-- shared by every share with the same title and figures, served with a long cache life.
CREATE TABLE social_share_cards (
    content_hash  text PRIMARY KEY,
    png           bytea NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE social_shares (
    id                   uuid PRIMARY KEY,
    token                text NOT NULL UNIQUE,
    user_id              uuid NOT NULL REFERENCES users (id),
    kind                 text NOT NULL
        CHECK (kind IN ('signal', 'certificate', 'badge', 'track_record')),
    subject_id           text NOT NULL,
    channel              text NOT NULL
        CHECK (channel IN ('x', 'facebook', 'linkedin', 'whatsapp', 'telegram', 'copy')),
    title                text NOT NULL,
    description          text NOT NULL,
    target_path          text NOT NULL,
    card_hash            text NOT NULL REFERENCES social_share_cards (content_hash),
    -- Keyed hash of the network (IPv4 /24, IPv6 /64) the share was made from: visitors
    -- from it do not count towards earning.
    sharer_network_hash  bytea,
    created_at           timestamptz NOT NULL,
    signed_in_visitors   integer NOT NULL DEFAULT 0 CHECK (signed_in_visitors >= 0),
    qualifying_visitors  integer NOT NULL DEFAULT 0 CHECK (qualifying_visitors >= 0),
    anonymous_visitors   integer NOT NULL DEFAULT 0 CHECK (anonymous_visitors >= 0),
    -- When the share reached the qualifying visitors it needs (social.post_shared went out).
    qualified_at         timestamptz,
    -- One link per thing and channel: sharing it again hands back the same link.
    UNIQUE (user_id, kind, subject_id, channel)
);
CREATE INDEX social_shares_user ON social_shares (user_id, created_at DESC);

-- Each distinct visitor of a share once: a signed-in visitor by user id (`u:<id>`), an
-- anonymous one by a keyed hash of their address (`a:<hex>`).
CREATE TABLE social_share_visits (
    share_id     uuid NOT NULL REFERENCES social_shares (id),
    visitor_key  text NOT NULL,
    user_id      uuid REFERENCES users (id),
    qualifies    boolean NOT NULL,
    -- Why a signed-in visit does not count (the sharer's own visits are not recorded).
    excluded     text CHECK (excluded IN ('same_network')),
    visited_at   timestamptz NOT NULL,
    PRIMARY KEY (share_id, visitor_key),
    CHECK (NOT qualifies OR (user_id IS NOT NULL AND excluded IS NULL))
);

-- The badges members hold, as social learns them from `badge.earned` (points' event): a
-- badge is shared only by someone who earned it. Social never reads points' tables at run
-- time; the badges earned before this migration are copied once here.
CREATE TABLE social_badges (
    user_id    uuid NOT NULL REFERENCES users (id),
    badge      text NOT NULL,
    earned_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, badge)
);
INSERT INTO social_badges (user_id, badge, earned_at)
SELECT user_id, badge, earned_at FROM points_badges
ON CONFLICT DO NOTHING;
