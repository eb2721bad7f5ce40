-- Issue 20 item 7: drip e-mail programs defined as data (a program, its steps with their
-- delays and texts in English and Swahili, the conditions that end an enrolment), each
-- member's enrolment and the step e-mails sent to them, and the addresses that get no
-- marketing mail (one-click unsubscribes, hard bounces, complaints).

CREATE TABLE drip_programs (
    code                 text PRIMARY KEY,
    name                 text NOT NULL,
    description          text NOT NULL,
    -- What enrols a member: an event topic, or 'inactivity' (the scheduler's query).
    trigger              text NOT NULL CHECK (trigger IN ('user.signed_up', 'cohort.joined', 'inactivity')),
    -- For 'inactivity': days without a sign-in before a member is enrolled.
    inactive_after_days  integer CHECK (inactive_after_days IS NULL OR inactive_after_days > 0),
    paused_at            timestamptz,
    updated_at           timestamptz NOT NULL
);

CREATE TABLE drip_steps (
    program_code   text NOT NULL REFERENCES drip_programs (code),
    position       integer NOT NULL CHECK (position > 0),
    -- Wait after the previous step (the first step: after enrolment).
    delay_minutes  integer NOT NULL CHECK (delay_minutes BETWEEN 0 AND 525600),
    subject_en     text NOT NULL,
    body_en        text NOT NULL,
    subject_sw     text NOT NULL,
    body_sw        text NOT NULL,
    -- The platform page the e-mail's link leads to.
    cta_path       text NOT NULL CHECK (cta_path LIKE '/%'),
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (program_code, position)
);

CREATE TABLE drip_exit_conditions (
    program_code  text NOT NULL REFERENCES drip_programs (code),
    condition     text NOT NULL CHECK (condition IN
                      ('course_completed', 'left_course', 'first_booking', 'active_again',
                       'unsubscribed')),
    PRIMARY KEY (program_code, condition)
);

CREATE TABLE drip_enrolments (
    id             uuid PRIMARY KEY,
    program_code   text NOT NULL REFERENCES drip_programs (code),
    user_id        uuid NOT NULL REFERENCES users (id),
    -- What the enrolment is about: the course's program id for course nudges, the start
    -- of the inactive spell for re-engagement, '' for onboarding. One enrolment each.
    subject        text NOT NULL DEFAULT '',
    enrolled_at    timestamptz NOT NULL,
    next_position  integer NOT NULL DEFAULT 1,
    -- When the last step went (the enrolment itself before the first).
    last_step_at   timestamptz NOT NULL,
    ended_at       timestamptz,
    end_reason     text,
    UNIQUE (program_code, user_id, subject)
);
CREATE INDEX drip_enrolments_running ON drip_enrolments (program_code, next_position)
    WHERE ended_at IS NULL;
CREATE INDEX drip_enrolments_user ON drip_enrolments (user_id) WHERE ended_at IS NULL;

-- One row per step sent to an enrolment: the primary key is what makes a step go once.
CREATE TABLE drip_sends (
    enrolment_id  uuid NOT NULL REFERENCES drip_enrolments (id),
    position      integer NOT NULL,
    program_code  text NOT NULL,
    message_id    uuid,
    email_id      text NOT NULL,
    token_hash    bytea UNIQUE,
    sent_at       timestamptz NOT NULL,
    opened_at     timestamptz,
    open_count    integer NOT NULL DEFAULT 0,
    clicked_at    timestamptz,
    PRIMARY KEY (enrolment_id, position)
);
CREATE INDEX drip_sends_step ON drip_sends (program_code, position);

-- Last sign-in (or sign-up) seen per member, from identity's events: the inactivity query.
CREATE TABLE drip_member_activity (
    user_id         uuid PRIMARY KEY REFERENCES users (id),
    last_active_at  timestamptz NOT NULL
);
CREATE INDEX drip_member_activity_at ON drip_member_activity (last_active_at);

-- Addresses (keyed HMAC of the lower-cased address; never the address) that get no
-- marketing mail. Security and payment mail does not look here.
CREATE TABLE mail_suppressions (
    address_index  bytea PRIMARY KEY,
    user_id        uuid REFERENCES users (id),
    reason         text NOT NULL CHECK (reason IN ('unsubscribed', 'hard_bounce', 'complaint')),
    detail         text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL
);

INSERT INTO drip_programs (code, name, description, trigger, inactive_after_days, updated_at) VALUES
    ('onboarding', 'Onboarding', 'New members, from sign-up until their first booking.',
     'user.signed_up', NULL, now()),
    ('course_nudges', 'Course completion nudges',
     'Members who joined a course and have not finished it.', 'cohort.joined', NULL, now()),
    ('re_engagement', 'Re-engagement', 'Members who have not signed in for 14 days.',
     'inactivity', 14, now());

INSERT INTO drip_exit_conditions (program_code, condition) VALUES
    ('onboarding', 'first_booking'),
    ('onboarding', 'unsubscribed'),
    ('course_nudges', 'course_completed'),
    ('course_nudges', 'left_course'),
    ('course_nudges', 'unsubscribed'),
    ('re_engagement', 'active_again'),
    ('re_engagement', 'unsubscribed');

INSERT INTO drip_steps (program_code, position, delay_minutes, subject_en, body_en, subject_sw, body_sw, cta_path, updated_at) VALUES
    ('onboarding', 1, 60,
     'Welcome to Dracarys, $name',
     E'Hi $name,\n\nWelcome aboard. Tell us how you trade and we will suggest mentors and courses that fit you.',
     'Karibu Dracarys, $name',
     E'Habari $name,\n\nKaribu. Tuambie unavyofanya biashara nasi tutakupendekezea washauri na kozi zinazokufaa.',
     '/onboarding', now()),
    ('onboarding', 2, 2880,
     'Find a mentor who shows their record',
     E'Hi $name,\n\nEvery mentor on Dracarys trades in the open: their record is on their profile. Pick one whose style matches yours.',
     'Tafuta mshauri anayeonyesha rekodi yake',
     E'Habari $name,\n\nKila mshauri kwenye Dracarys hufanya biashara hadharani: rekodi yake iko kwenye wasifu wake. Chagua anayefanana na mtindo wako.',
     '/mentors', now()),
    ('onboarding', 3, 5760,
     'Book your first session',
     E'Hi $name,\n\nA first session with a mentor is the quickest way to a plan of your own. Book one this week.',
     'Weka kipindi chako cha kwanza',
     E'Habari $name,\n\nKipindi cha kwanza na mshauri ndiyo njia ya haraka ya kupata mpango wako mwenyewe. Weka kimoja wiki hii.',
     '/mentors', now()),
    ('course_nudges', 1, 4320,
     'Your course is waiting for you',
     E'Hi $name,\n\nYou joined a course a few days ago. The next lesson takes about fifteen minutes.',
     'Kozi yako inakusubiri',
     E'Habari $name,\n\nUlijiunga na kozi siku chache zilizopita. Somo linalofuata linachukua takriban dakika kumi na tano.',
     '/courses', now()),
    ('course_nudges', 2, 10080,
     'Keep your learning streak going',
     E'Hi $name,\n\nOne lesson a day keeps your streak and earns points. Pick up where you left off.',
     'Endelea na mfululizo wako wa kujifunza',
     E'Habari $name,\n\nSomo moja kwa siku hudumisha mfululizo wako na hukupa pointi. Endelea ulipoachia.',
     '/courses', now()),
    ('course_nudges', 3, 20160,
     'Finish your course and earn your certificate',
     E'Hi $name,\n\nYou are closer than you think. Finish the course to earn its certificate.',
     'Maliza kozi yako upate cheti',
     E'Habari $name,\n\nUko karibu kuliko unavyofikiri. Maliza kozi upate cheti chake.',
     '/courses', now()),
    ('re_engagement', 1, 0,
     'We have missed you, $name',
     E'Hi $name,\n\nA lot happened since your last visit: new signals from mentors and new courses.',
     'Tumekukumbuka, $name',
     E'Habari $name,\n\nMengi yametokea tangu ulipotembelea mara ya mwisho: ishara mpya kutoka kwa washauri na kozi mpya.',
     '/dashboard', now()),
    ('re_engagement', 2, 10080,
     'What your mentors posted this week',
     E'Hi $name,\n\nMentors you follow posted signals this week. See them and paper-trade along.',
     'Walichochapisha washauri wako wiki hii',
     E'Habari $name,\n\nWashauri unaowafuata walichapisha ishara wiki hii. Zione na ufanye biashara ya majaribio pamoja nao.',
     '/signals', now());
