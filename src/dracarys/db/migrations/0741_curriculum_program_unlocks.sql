-- A program unlocked with points (blueprint 2.6, "exclusive course unlocks"): its cohorts
-- are joined without payment by that member. Granted in the points redemption's own
-- transaction, once per redemption.
CREATE TABLE program_unlocks (
    user_id        uuid NOT NULL REFERENCES users (id),
    program_id     uuid NOT NULL REFERENCES programs (id),
    redemption_id  uuid NOT NULL UNIQUE,
    unlocked_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, program_id)
);
