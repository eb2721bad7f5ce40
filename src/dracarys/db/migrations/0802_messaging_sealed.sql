-- Messaging: recipients and contents sealed at rest (blueprint §9). The recipient (an
-- e-mail address or phone number) and the rendered subject and bodies (names, codes,
-- links) become AES-256-GCM ciphertexts bound to the message id and field; the content is
-- dropped once the message is sent, the sealed recipient kept as the record of it. The key
-- comes from the settings, so SQL cannot seal: existing rows' plain values wait in
-- `plain_*` columns until `seal_plain_messages` (run right after the migrations) seals or
-- drops them. The CHECK is NOT VALID so those rows may wait, yet it holds for every row
-- written from now on; the step validates it at the end.

ALTER TABLE outbound_messages RENAME COLUMN recipient TO plain_recipient;
ALTER TABLE outbound_messages RENAME COLUMN subject TO plain_subject;
ALTER TABLE outbound_messages RENAME COLUMN body_text TO plain_body_text;
ALTER TABLE outbound_messages RENAME COLUMN body_html TO plain_body_html;
ALTER TABLE outbound_messages
    ALTER COLUMN plain_recipient DROP NOT NULL,
    ALTER COLUMN plain_subject DROP NOT NULL,
    ALTER COLUMN plain_subject DROP DEFAULT,
    ALTER COLUMN plain_body_text DROP NOT NULL,
    ADD COLUMN recipient_sealed bytea,
    ADD COLUMN content_sealed bytea,
    ADD CONSTRAINT outbound_messages_sealed CHECK (
        recipient_sealed IS NOT NULL
        AND (content_sealed IS NOT NULL OR sent_at IS NOT NULL)
        AND plain_recipient IS NULL AND plain_subject IS NULL
        AND plain_body_text IS NULL AND plain_body_html IS NULL
    ) NOT VALID;
