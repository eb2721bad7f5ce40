-- Community (issue 21, blueprint 2.9): spaces (topic channels everyone reads, and groups a
-- mentor hosts, which may follow a cohort's membership), topics and their posts (Markdown
-- kept as written and as sanitised HTML, edit history, reactions, quotes), Q&A votes and
-- accepted answers, each member's community profile (handle, trust level), per-topic read
-- positions, and full-text search over posts.

CREATE TABLE community_spaces (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,47}$'),
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    -- channel: a seeded topic channel, open to every member; group: hosted by a mentor.
    kind        text NOT NULL CHECK (kind IN ('channel', 'group')),
    -- private: its members (and its mentor) only, on the page, the API and the stream.
    visibility  text NOT NULL CHECK (visibility IN ('public', 'private')),
    mentor_id   uuid REFERENCES users (id),
    -- A group following a cohort: the cohort's members are the group's members, read from
    -- the curriculum each time, so joining or leaving the cohort joins or leaves the group.
    cohort_id   uuid REFERENCES cohorts (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'channel') = (mentor_id IS NULL)),
    CHECK (cohort_id IS NULL OR kind = 'group')
);

INSERT INTO community_spaces (id, slug, title, description, kind, visibility) VALUES
    (gen_random_uuid(), 'options', 'Options', 'Calls, puts, spreads and the Greeks.', 'channel', 'public'),
    (gen_random_uuid(), 'futures', 'Futures', 'Index, commodity and rate futures: rolls, margin, basis.', 'channel', 'public'),
    (gen_random_uuid(), 'forex', 'Forex', 'Currency pairs, sessions, carry and central banks.', 'channel', 'public'),
    (gen_random_uuid(), 'crypto', 'Crypto', 'Spot and perpetuals, funding, on-chain flows.', 'channel', 'public'),
    (gen_random_uuid(), 'risk-management', 'Risk Management', 'Position sizing, stops, drawdowns and the risk of ruin.', 'channel', 'public'),
    (gen_random_uuid(), 'psychology', 'Psychology', 'Discipline, tilt, journaling and habits.', 'channel', 'public');

-- Members of a group that does not follow a cohort (a cohort group reads the cohort's).
CREATE TABLE community_space_members (
    space_id  uuid NOT NULL REFERENCES community_spaces (id),
    user_id   uuid NOT NULL REFERENCES users (id),
    joined_at timestamptz NOT NULL,
    PRIMARY KEY (space_id, user_id)
);
CREATE INDEX community_space_members_user ON community_space_members (user_id);

-- A member's face in the community: the @handle others mention (names are sealed personal
-- data, so a handle is chosen, never derived from the name) and the trust level the
-- scheduled recomputation last gave (reputation itself is always summed from votes).
CREATE TABLE community_profiles (
    user_id          uuid PRIMARY KEY REFERENCES users (id),
    handle           text NOT NULL UNIQUE CHECK (handle ~ '^[a-z0-9][a-z0-9_]{2,29}$'),
    trust_level      text NOT NULL DEFAULT 'new'
                     CHECK (trust_level IN ('new', 'basic', 'member', 'regular', 'leader')),
    trust_computed_at timestamptz,
    created_at       timestamptz NOT NULL
);

CREATE TABLE community_topics (
    id               uuid PRIMARY KEY,
    space_id         uuid NOT NULL REFERENCES community_spaces (id),
    author_id        uuid NOT NULL REFERENCES users (id),
    kind             text NOT NULL CHECK (kind IN ('discussion', 'question')),
    title            text NOT NULL CHECK (length(title) BETWEEN 5 AND 150),
    tags             text[] NOT NULL DEFAULT '{}',
    -- held and hidden are for moderation (a later issue): neither is listed nor searched.
    status           text NOT NULL DEFAULT 'visible' CHECK (status IN ('visible', 'held', 'hidden')),
    accepted_post_id uuid,
    -- Posts are numbered 1, 2, 3… per topic by this counter (the opening post is 1), so a
    -- read position is one number.
    last_seq         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    last_posted_at   timestamptz NOT NULL
);
CREATE INDEX community_topics_space ON community_topics (space_id, last_posted_at DESC);
CREATE INDEX community_topics_tags ON community_topics USING gin (tags);

CREATE TABLE community_posts (
    id            uuid PRIMARY KEY,
    topic_id      uuid NOT NULL REFERENCES community_topics (id),
    seq           integer NOT NULL CHECK (seq >= 1),
    author_id     uuid NOT NULL REFERENCES users (id),
    source        text NOT NULL CHECK (length(source) BETWEEN 1 AND 20000),
    html          text NOT NULL,
    quote_post_id uuid REFERENCES community_posts (id),
    status        text NOT NULL DEFAULT 'visible' CHECK (status IN ('visible', 'held', 'hidden')),
    score         integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    edited_at     timestamptz,
    -- The topic's title on its opening post ('' on replies), so a title match ranks first.
    search_title  text NOT NULL DEFAULT '',
    search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', search_title), 'A')
        || setweight(to_tsvector('english', source), 'B')
    ) STORED,
    UNIQUE (topic_id, seq)
);
CREATE INDEX community_posts_search ON community_posts USING gin (search_vector);
CREATE INDEX community_posts_author ON community_posts (author_id, created_at DESC);

ALTER TABLE community_topics
    ADD FOREIGN KEY (accepted_post_id) REFERENCES community_posts (id);

-- What a post said before each edit, oldest first.
CREATE TABLE community_post_edits (
    id         bigserial PRIMARY KEY,
    post_id    uuid NOT NULL REFERENCES community_posts (id),
    editor_id  uuid NOT NULL REFERENCES users (id),
    source     text NOT NULL,
    edited_at  timestamptz NOT NULL
);
CREATE INDEX community_post_edits_post ON community_post_edits (post_id, id);

CREATE TABLE community_reactions (
    post_id    uuid NOT NULL REFERENCES community_posts (id),
    user_id    uuid NOT NULL REFERENCES users (id),
    reaction   text NOT NULL CHECK (reaction IN ('like', 'insightful', 'thanks', 'laugh')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (post_id, user_id, reaction)
);

-- One vote per member and post (the key), never on one's own post (the service refuses;
-- the score on the post is the sum of these, kept in the voting transaction).
CREATE TABLE community_votes (
    post_id    uuid NOT NULL REFERENCES community_posts (id),
    voter_id   uuid NOT NULL REFERENCES users (id),
    value      smallint NOT NULL CHECK (value IN (-1, 1)),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (post_id, voter_id)
);
CREATE INDEX community_votes_voter ON community_votes (voter_id);

CREATE TABLE community_reads (
    user_id       uuid NOT NULL REFERENCES users (id),
    topic_id      uuid NOT NULL REFERENCES community_topics (id),
    last_read_seq integer NOT NULL CHECK (last_read_seq >= 0),
    PRIMARY KEY (user_id, topic_id)
);
