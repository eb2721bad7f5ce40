-- A document uploaded again after a rejection names the rejected one it replaces, so a
-- reviewer sees a second attempt as such (and why the first one was refused).
ALTER TABLE kyc_documents ADD COLUMN replaces uuid REFERENCES kyc_documents (id);
