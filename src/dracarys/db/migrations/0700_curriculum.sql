-- Curriculum: programs → cohorts → modules → lessons → assessments → assignments, the
-- uploads lessons embed, enrolments, progress, attempts, submissions and certificates.

CREATE TABLE programs (
    id           uuid PRIMARY KEY,
    owner_id     uuid NOT NULL REFERENCES users (id),
    title        text NOT NULL,
    description  text NOT NULL DEFAULT '',
    difficulty   text NOT NULL DEFAULT 'beginner'
        CHECK (difficulty IN ('beginner', 'intermediate', 'advanced')),
    price_minor  bigint NOT NULL DEFAULT 0 CHECK (price_minor >= 0),
    currency     char(3) NOT NULL DEFAULT 'KES',
    published    boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL
);
CREATE INDEX programs_owner ON programs (owner_id);

CREATE TABLE cohorts (
    id          uuid PRIMARY KEY,
    program_id  uuid NOT NULL REFERENCES programs (id),
    title       text NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    capacity    integer NOT NULL CHECK (capacity > 0),
    created_at  timestamptz NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX cohorts_program ON cohorts (program_id);

CREATE TABLE cohort_enrolments (
    cohort_id     uuid NOT NULL REFERENCES cohorts (id),
    user_id       uuid NOT NULL REFERENCES users (id),
    program_id    uuid NOT NULL REFERENCES programs (id),
    amount_minor  bigint NOT NULL DEFAULT 0,
    currency      char(3) NOT NULL,
    escrow_id     uuid,
    enrolled_at   timestamptz NOT NULL,
    PRIMARY KEY (cohort_id, user_id)
);
-- One live enrolment per program and learner: progress belongs to the program.
CREATE UNIQUE INDEX cohort_enrolments_program_user ON cohort_enrolments (program_id, user_id);

CREATE TABLE program_modules (
    id          uuid PRIMARY KEY,
    program_id  uuid NOT NULL REFERENCES programs (id),
    title       text NOT NULL,
    position    integer NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX program_modules_program ON program_modules (program_id, position);

CREATE TABLE lessons (
    id                 uuid PRIMARY KEY,
    module_id          uuid NOT NULL REFERENCES program_modules (id),
    title              text NOT NULL,
    body_markdown      text NOT NULL DEFAULT '',
    body_html          text NOT NULL DEFAULT '',
    position           integer NOT NULL,
    estimated_minutes  integer NOT NULL CHECK (estimated_minutes BETWEEN 1 AND 1440),
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX lessons_module ON lessons (module_id, position);

CREATE TABLE lesson_assets (
    id            uuid PRIMARY KEY,
    program_id    uuid NOT NULL REFERENCES programs (id),
    uploaded_by   uuid NOT NULL REFERENCES users (id),
    content_type  text NOT NULL,
    size_bytes    integer NOT NULL,
    stored_name   text NOT NULL UNIQUE,
    sha256        text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE lesson_completions (
    user_id       uuid NOT NULL REFERENCES users (id),
    lesson_id     uuid NOT NULL REFERENCES lessons (id),
    completed_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, lesson_id)
);

CREATE TABLE assessments (
    id                 uuid PRIMARY KEY,
    module_id          uuid NOT NULL REFERENCES program_modules (id),
    title              text NOT NULL,
    pass_mark_percent  integer NOT NULL CHECK (pass_mark_percent BETWEEN 1 AND 100),
    max_attempts       integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    questions          jsonb NOT NULL,
    created_at         timestamptz NOT NULL
);
CREATE INDEX assessments_module ON assessments (module_id);

-- Attempts are a record of what was answered and scored: append-only.
CREATE TABLE assessment_attempts (
    id             uuid PRIMARY KEY,
    assessment_id  uuid NOT NULL REFERENCES assessments (id),
    user_id        uuid NOT NULL REFERENCES users (id),
    attempt_no     integer NOT NULL,
    answers        jsonb NOT NULL,
    score_percent  integer NOT NULL,
    passed         boolean NOT NULL,
    submitted_at   timestamptz NOT NULL,
    UNIQUE (assessment_id, user_id, attempt_no)
);
CREATE TRIGGER assessment_attempts_append_only BEFORE UPDATE OR DELETE ON assessment_attempts
    FOR EACH ROW EXECUTE FUNCTION dracarys_forbid_change();
CREATE TRIGGER assessment_attempts_no_truncate BEFORE TRUNCATE ON assessment_attempts
    FOR EACH STATEMENT EXECUTE FUNCTION dracarys_forbid_change();

CREATE TABLE assignments (
    id            uuid PRIMARY KEY,
    module_id     uuid NOT NULL REFERENCES program_modules (id),
    title         text NOT NULL,
    instructions  text NOT NULL DEFAULT '',
    rubric        jsonb NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX assignments_module ON assignments (module_id);

CREATE TABLE assignment_submissions (
    id             uuid PRIMARY KEY,
    assignment_id  uuid NOT NULL REFERENCES assignments (id),
    user_id        uuid NOT NULL REFERENCES users (id),
    body           text NOT NULL,
    submitted_at   timestamptz NOT NULL,
    scores         jsonb,
    total_points   integer,
    max_points     integer,
    feedback       text,
    reviewed_by    uuid REFERENCES users (id),
    reviewed_at    timestamptz
);
CREATE INDEX assignment_submissions_assignment ON assignment_submissions (assignment_id);

CREATE TABLE certificates (
    id          uuid PRIMARY KEY,
    program_id  uuid NOT NULL REFERENCES programs (id),
    user_id     uuid NOT NULL REFERENCES users (id),
    granted_at  timestamptz NOT NULL,
    UNIQUE (program_id, user_id)
);
