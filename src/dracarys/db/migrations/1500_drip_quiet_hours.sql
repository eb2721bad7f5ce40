-- Issue 20 items 3 and 7: a drip step due during the member's quiet hours waits until
-- they end (in their time zone); the tick writes when, and skips the enrolment until then.
ALTER TABLE drip_enrolments ADD COLUMN held_until timestamptz;
