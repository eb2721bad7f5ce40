-- A KYC document sent to the verification vendor (Smile ID): one row per document, keyed
-- by the job id we gave the vendor. `state`: queued (not yet accepted by the vendor),
-- submitted (waiting for its result), decided (its clear result decided the document),
-- referred (unclear, failed or late: the reviewers decide). The vendor's own words stay
-- here so a reviewer sees them beside the document.
CREATE TABLE kyc_vendor_checks (
    document_id    uuid PRIMARY KEY REFERENCES kyc_documents (id),
    user_id        uuid NOT NULL REFERENCES users (id),
    vendor         text NOT NULL,
    job_id         text NOT NULL UNIQUE,
    vendor_job_id  text,
    id_type        text NOT NULL,
    country        text NOT NULL,
    state          text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'submitted', 'decided', 'referred')),
    verdict        text CHECK (verdict IN ('verified', 'rejected', 'unclear')),
    result_code    text,
    result_text    text,
    referral       text,
    attempts       integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL,
    submitted_at   timestamptz,
    resulted_at    timestamptz
);
CREATE INDEX kyc_vendor_checks_open ON kyc_vendor_checks (created_at)
    WHERE state IN ('queued', 'submitted');
