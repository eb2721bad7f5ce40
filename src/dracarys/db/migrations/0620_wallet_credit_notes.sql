-- Credit notes: a refund of an invoiced charge is its own numbered document (same gap-free
-- yearly series, negative amounts) that points at the invoice it corrects, so the monthly
-- tax export nets refunds out of the VAT due.

ALTER TABLE invoices
    ADD COLUMN kind text NOT NULL DEFAULT 'invoice' CHECK (kind IN ('invoice', 'credit_note')),
    ADD COLUMN corrects_id uuid REFERENCES invoices (id),
    ADD CONSTRAINT credit_notes_correct_an_invoice
        CHECK ((kind = 'credit_note') = (corrects_id IS NOT NULL));
ALTER TABLE invoices DROP CONSTRAINT invoices_charge_id_key;
CREATE UNIQUE INDEX invoices_one_per_charge ON invoices (charge_id) WHERE kind = 'invoice';
CREATE INDEX invoices_user ON invoices (user_id, issued_at);
