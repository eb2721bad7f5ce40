-- The NPS question on the post-session rating (issue 22, blueprint §10): how likely the
-- rater is to recommend Dracarys, 0–10; optional, so reviews before it have none.
ALTER TABLE session_reviews
    ADD COLUMN recommend smallint CHECK (recommend BETWEEN 0 AND 10);
