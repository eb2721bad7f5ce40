-- Recordings linked to a lesson belong to the curriculum: a cohort's live session (a
-- mentorship session) hands its recording to the lesson it covers, so the lesson page no
-- longer reads mentorship's sessions. `session_id` names that session; no foreign key, so
-- the curriculum's tables do not depend on mentorship's.

CREATE TABLE lesson_recordings (
    session_id     uuid PRIMARY KEY,
    lesson_id      uuid NOT NULL REFERENCES lessons (id),
    title          text NOT NULL,
    starts_at      timestamptz NOT NULL,
    recording_url  text NOT NULL,
    linked_at      timestamptz NOT NULL
);
CREATE INDEX lesson_recordings_lesson ON lesson_recordings (lesson_id, starts_at);

INSERT INTO lesson_recordings (session_id, lesson_id, title, starts_at, recording_url, linked_at)
SELECT id, lesson_id, title, starts_at, recording_url, coalesce(completed_at, created_at)
FROM mentor_sessions
WHERE lesson_id IS NOT NULL AND recording_url IS NOT NULL;
