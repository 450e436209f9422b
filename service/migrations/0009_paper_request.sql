-- Delivery (docs/delivery.md): paper on request, and delivery's own retention (docs/registry.md,
-- "Retention").

-- Paper on request: a school, or the participant, orders a paper copy of a valid certificate
-- because an authority or organisation demands paper (DOMAIN.md, "Delivery"). A certificate may
-- be asked for on paper more than once (two authorities), so the request's Idempotency-Key, not
-- the purpose, makes a repeat the same job: unique per certificate, requester and key.
ALTER TABLE delivery_jobs
    DROP CONSTRAINT delivery_jobs_purpose_check,
    ADD CONSTRAINT delivery_jobs_purpose_check
        CHECK (purpose IN ('issue', 'digital-after-paper', 'paper-on-request')),
    ADD COLUMN requested_by    text CHECK (requested_by IN ('school', 'participant')),
    ADD COLUMN request_key     text CHECK (char_length(request_key) BETWEEN 1 AND 200),
    -- Who demands paper: an authority or organisation, never a CPR number (the API checks).
    ADD COLUMN request_reason  text CHECK (char_length(request_reason) BETWEEN 1 AND 200),
    ADD CONSTRAINT delivery_jobs_request CHECK (
        (purpose = 'paper-on-request')
        = (requested_by IS NOT NULL AND request_key IS NOT NULL AND request_reason IS NOT NULL)),
    DROP CONSTRAINT delivery_jobs_certificate_number_purpose_key;
-- The first delivery and the digital one after paper stay once per certificate.
CREATE UNIQUE INDEX delivery_jobs_once ON delivery_jobs (certificate_number, purpose)
    WHERE purpose <> 'paper-on-request';
CREATE UNIQUE INDEX delivery_jobs_paper_requests
    ON delivery_jobs (certificate_number, requested_by, request_key)
    WHERE purpose = 'paper-on-request';

-- Print jobs are transient: once printed (or, as nothing marks them printed yet, spooled) longer
-- ago than the print retention, the retention job blanks the PDF and the name and keeps the row
-- (which certificate went on paper, when and why) for the delivery history. Delivery's tables
-- are not the register: they are not append-only, so this is a plain UPDATE; the constraint
-- makes the blanking whole.
ALTER TABLE print_jobs
    ALTER COLUMN pdf DROP NOT NULL,
    ALTER COLUMN participant_name DROP NOT NULL,
    ADD COLUMN erased_at timestamptz,
    ADD CONSTRAINT print_jobs_erased_whole CHECK (
        (erased_at IS NULL AND pdf IS NOT NULL AND participant_name IS NOT NULL)
        OR (erased_at IS NOT NULL AND pdf IS NULL AND participant_name IS NULL));
-- What the retention job looks for.
CREATE INDEX print_jobs_retention ON print_jobs (coalesce(printed_at, spooled_at))
    WHERE erased_at IS NULL;
