-- The other side of an escrow dispute: the party who did not open it (the mentor, when the
-- mentee disputes) answers once with their account and evidence, so the admin deciding it
-- reads both sides.

ALTER TABLE escrow_disputes
    ADD COLUMN response           text CHECK (length(response) BETWEEN 3 AND 2000),
    ADD COLUMN response_evidence  jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN responded_by       uuid REFERENCES users (id),
    ADD COLUMN responded_at       timestamptz,
    ADD CONSTRAINT escrow_disputes_response_whole
        CHECK ((response IS NULL) = (responded_by IS NULL) AND (response IS NULL) = (responded_at IS NULL));
