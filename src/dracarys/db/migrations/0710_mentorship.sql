-- Mentorship: mentor languages (identity's profiles have none), availability schedules
-- (Cal.com model), session types, sessions on a mentor's calendar, bookings, reviews,
-- reminders sent, calendar feed tokens and the onboarding match quiz.

CREATE TABLE mentor_languages (
    user_id    uuid PRIMARY KEY REFERENCES users (id),
    languages  text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE availability_schedules (
    id              uuid PRIMARY KEY,
    mentor_id       uuid NOT NULL REFERENCES users (id),
    name            text NOT NULL,
    timezone        text NOT NULL,
    is_default      boolean NOT NULL DEFAULT false,
    -- [{weekday: 0 (Monday) .. 6, start: "HH:MM", end: "HH:MM"}]
    weekly_hours    jsonb NOT NULL DEFAULT '[]',
    -- [{date: "YYYY-MM-DD", intervals: [{start, end}]}]; no intervals: unavailable
    date_overrides  jsonb NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL
);
CREATE INDEX availability_schedules_mentor ON availability_schedules (mentor_id);
CREATE UNIQUE INDEX availability_schedules_one_default
    ON availability_schedules (mentor_id) WHERE is_default;

CREATE TABLE session_types (
    id                  uuid PRIMARY KEY,
    mentor_id           uuid NOT NULL REFERENCES users (id),
    title               text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('one_on_one', 'group', 'workshop')),
    duration_minutes    integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 720),
    price_minor         bigint NOT NULL CHECK (price_minor >= 0),
    currency            char(3) NOT NULL DEFAULT 'KES',
    capacity            integer NOT NULL DEFAULT 1 CHECK (capacity BETWEEN 1 AND 1000),
    schedule_id         uuid REFERENCES availability_schedules (id),
    min_notice_minutes  integer NOT NULL DEFAULT 60 CHECK (min_notice_minutes >= 0),
    active              boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL,
    CHECK (kind <> 'one_on_one' OR capacity = 1)
);
CREATE INDEX session_types_mentor ON session_types (mentor_id);

-- A small integer per mentor, folded into each session's numeric time span so that one
-- GiST exclusion constraint on a built-in range type keeps a mentor's sessions apart
-- (btree_gist, which `EXCLUDE (mentor_id WITH =, ...)` would need, is not shipped with
-- the embedded PostgreSQL).
CREATE TABLE mentor_calendar_keys (
    mentor_id     uuid PRIMARY KEY REFERENCES users (id),
    calendar_key  bigint GENERATED ALWAYS AS IDENTITY UNIQUE
);

CREATE TABLE mentor_sessions (
    id                uuid PRIMARY KEY,
    mentor_id         uuid NOT NULL REFERENCES users (id),
    session_type_id   uuid REFERENCES session_types (id),
    kind              text NOT NULL CHECK (kind IN ('one_on_one', 'group', 'workshop')),
    title             text NOT NULL,
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    capacity          integer NOT NULL CHECK (capacity >= 1),
    price_minor       bigint NOT NULL DEFAULT 0,
    currency          char(3) NOT NULL DEFAULT 'KES',
    status            text NOT NULL DEFAULT 'scheduled'
        CHECK (status IN ('scheduled', 'completed', 'cancelled')),
    room_name         text NOT NULL UNIQUE,
    cohort_id         uuid REFERENCES cohorts (id),
    lesson_id         uuid REFERENCES lessons (id),
    recording_url     text,
    mentor_joined_at  timestamptz,
    completed_at      timestamptz,
    created_at        timestamptz NOT NULL,
    -- calendar_key * 10^11 + epoch seconds: disjoint per mentor, set by the trigger below.
    span              numrange NOT NULL,
    CHECK (ends_at > starts_at),
    CONSTRAINT mentor_sessions_no_overlap EXCLUDE USING gist (span WITH &&)
        WHERE (status <> 'cancelled')
);
CREATE INDEX mentor_sessions_mentor ON mentor_sessions (mentor_id, starts_at);
CREATE INDEX mentor_sessions_cohort ON mentor_sessions (cohort_id) WHERE cohort_id IS NOT NULL;
CREATE INDEX mentor_sessions_upcoming ON mentor_sessions (starts_at) WHERE status = 'scheduled';

CREATE FUNCTION mentor_sessions_set_span() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    k bigint;
BEGIN
    INSERT INTO mentor_calendar_keys (mentor_id) VALUES (NEW.mentor_id)
        ON CONFLICT (mentor_id) DO NOTHING;
    SELECT calendar_key INTO k FROM mentor_calendar_keys WHERE mentor_id = NEW.mentor_id;
    NEW.span := numrange(
        k * 100000000000 + extract(epoch FROM NEW.starts_at),
        k * 100000000000 + extract(epoch FROM NEW.ends_at),
        '[)');
    RETURN NEW;
END;
$$;
CREATE TRIGGER mentor_sessions_span BEFORE INSERT OR UPDATE OF mentor_id, starts_at, ends_at
    ON mentor_sessions FOR EACH ROW EXECUTE FUNCTION mentor_sessions_set_span();

CREATE TABLE session_bookings (
    id               uuid PRIMARY KEY,
    session_id       uuid NOT NULL REFERENCES mentor_sessions (id),
    mentee_id        uuid NOT NULL REFERENCES users (id),
    status           text NOT NULL CHECK (status IN ('held', 'confirmed', 'cancelled')),
    amount_minor     bigint NOT NULL DEFAULT 0 CHECK (amount_minor >= 0),
    currency         char(3) NOT NULL DEFAULT 'KES',
    escrow_id        uuid,
    refunded_minor   bigint NOT NULL DEFAULT 0,
    joined_at        timestamptz,
    attended_at      timestamptz,
    cancelled_at     timestamptz,
    cancelled_by     uuid REFERENCES users (id),
    idempotency_key  text NOT NULL,
    created_at       timestamptz NOT NULL,
    UNIQUE (mentee_id, idempotency_key)
);
CREATE INDEX session_bookings_session ON session_bookings (session_id);
CREATE INDEX session_bookings_mentee ON session_bookings (mentee_id);
CREATE UNIQUE INDEX session_bookings_live
    ON session_bookings (session_id, mentee_id) WHERE status <> 'cancelled';

CREATE TABLE session_reviews (
    session_id  uuid NOT NULL REFERENCES mentor_sessions (id),
    rater_id    uuid NOT NULL REFERENCES users (id),
    rated_id    uuid NOT NULL REFERENCES users (id),
    rating      smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (session_id, rater_id, rated_id)
);
CREATE INDEX session_reviews_rated ON session_reviews (rated_id);

CREATE TABLE session_reminders (
    session_id  uuid NOT NULL REFERENCES mentor_sessions (id),
    user_id     uuid NOT NULL REFERENCES users (id),
    lead        text NOT NULL CHECK (lead IN ('24h', '1h')),
    sent_at     timestamptz NOT NULL,
    PRIMARY KEY (session_id, user_id, lead)
);

CREATE TABLE calendar_feed_tokens (
    user_id     uuid PRIMARY KEY REFERENCES users (id),
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL
);

CREATE TABLE match_quizzes (
    user_id     uuid PRIMARY KEY REFERENCES users (id),
    answers     jsonb NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE mentor_matches (
    mentee_id    uuid NOT NULL REFERENCES users (id),
    mentor_id    uuid NOT NULL REFERENCES users (id),
    score        integer NOT NULL,
    reasons      jsonb NOT NULL,
    computed_at  timestamptz NOT NULL,
    PRIMARY KEY (mentee_id, mentor_id)
);
