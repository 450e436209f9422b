-- Participation and combined documents go on paper like certificates when the participant
-- cannot receive them digitally (exempt from digital post, or a private school without e-Boks
-- consent): a print job names either a certificate or a document, never both, and a document's
-- print job carries its title for the print list (it has no certificate number). Retention
-- blanks its PDF and name like any print job's (issuers/retention_store.py); the title names
-- the course, not the person.
ALTER TABLE print_jobs
    ALTER COLUMN certificate_number DROP NOT NULL,
    ADD COLUMN document_id uuid REFERENCES other_documents,
    ADD COLUMN document_title text,
    ADD CONSTRAINT print_jobs_certificate_or_document CHECK (
        (certificate_number IS NULL) <> (document_id IS NULL)),
    ADD CONSTRAINT print_jobs_document_title CHECK (
        (document_id IS NULL) = (document_title IS NULL));

-- A document's job ends on paper (channel 'paper'); it is not followed by a digital delivery:
-- the participant can download it from Mine beviser.
ALTER TABLE other_document_jobs
    DROP CONSTRAINT other_document_jobs_channel_check,
    ADD CONSTRAINT other_document_jobs_channel_check
        CHECK (channel IN ('digital-post', 'eboks', 'paper'));
