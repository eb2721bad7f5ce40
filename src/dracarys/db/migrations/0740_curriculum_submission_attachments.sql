-- A learner may attach a file (a PDF, or an image of a chart) to an assignment
-- submission. The file is uploaded first, checked by its bytes, and named by the
-- submission that hands it in; only its uploader and the program's mentor read it.

CREATE TABLE assignment_attachments (
    id             uuid PRIMARY KEY,
    assignment_id  uuid NOT NULL REFERENCES assignments (id),
    user_id        uuid NOT NULL REFERENCES users (id),
    file_name      text NOT NULL,
    content_type   text NOT NULL,
    size_bytes     integer NOT NULL,
    stored_name    text NOT NULL UNIQUE,
    sha256         text NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE INDEX assignment_attachments_user ON assignment_attachments (user_id, assignment_id);

ALTER TABLE assignment_submissions
    ADD COLUMN attachment_id uuid REFERENCES assignment_attachments (id);
