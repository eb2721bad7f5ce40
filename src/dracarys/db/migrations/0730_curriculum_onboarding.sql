-- Onboarding in the curriculum: what a program teaches (the specialties the onboarding
-- quiz's answers are matched against), programs run for newcomers (their cohorts are the
-- onboarding cohorts a new member is offered; always free), and newcomers who answered
-- "not now" to that offer.

ALTER TABLE programs ADD COLUMN topics text[] NOT NULL DEFAULT '{}';
ALTER TABLE programs ADD COLUMN onboarding boolean NOT NULL DEFAULT false;
ALTER TABLE programs ADD CONSTRAINT programs_onboarding_free
    CHECK (NOT onboarding OR price_minor = 0);
CREATE INDEX programs_onboarding ON programs (id) WHERE onboarding;

CREATE TABLE onboarding_cohort_declines (
    user_id      uuid PRIMARY KEY REFERENCES users (id),
    declined_at  timestamptz NOT NULL
);
