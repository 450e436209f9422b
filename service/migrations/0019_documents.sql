-- The documents a school issues besides AMU certificates (issuers/other_documents.py): the
-- participation document (deltagelsesbevis) and the combined document of a composite course.
-- Their own tables: they are not certificates, so they never reach certificates, the log,
-- the quarterly report or /api/verify.

-- Whether the school issues participation documents for a team (TeamIn.participationDocuments).
CREATE TABLE team_document_settings (
    team_id                  uuid PRIMARY KEY REFERENCES teams,
    participation_documents  boolean NOT NULL
);

CREATE TABLE other_documents (
    id                   uuid PRIMARY KEY,
    kind                 text NOT NULL CHECK (kind IN ('participation', 'combined')),
    school_id            text NOT NULL REFERENCES schools,
    -- Personal data, blanked by the retention run 30 years after the last goal's end, as the
    -- participations and certificates are (issuers/retention_store.py).
    cpr                  text CHECK (cpr ~ '^[0-9]{6}-[0-9]{4}$'),
    name                 text,
    erased_at            timestamptz,
    reference            text NOT NULL,  -- the team's or the composite course's reference
    goals                jsonb NOT NULL, -- [{number, title, durationDays, start, end}], in order
    issued_at            timestamptz NOT NULL,
    -- One participation document per participation, one combined document per person and course.
    participation_id     uuid UNIQUE REFERENCES participations,
    composite_course_id  uuid REFERENCES composite_courses,
    UNIQUE (composite_course_id, cpr),
    CHECK ((kind = 'participation') = (participation_id IS NOT NULL)),
    CHECK ((kind = 'combined') = (composite_course_id IS NOT NULL)),
    CHECK ((erased_at IS NULL) = (cpr IS NOT NULL AND name IS NOT NULL))
);
CREATE INDEX other_documents_by_cpr ON other_documents (cpr, issued_at);

-- Their delivery jobs (the outbox), made in the transaction that issues the document, taken by
-- the delivery worker like delivery_jobs (issuers/delivery/document_delivery.py): under a lease,
-- fenced by its token, retried with backoff, dead-lettered after too many failures in a row.
-- Their own table: delivery_jobs, its attempts, print list and deadlines belong to certificates.
CREATE TABLE other_document_jobs (
    id            bigserial PRIMARY KEY,
    document_id   uuid NOT NULL UNIQUE REFERENCES other_documents,
    school_id     text NOT NULL REFERENCES schools,
    -- The MeMo messageUUID, fixed here so a retry is never a second message (version 4).
    message_uuid  uuid NOT NULL CHECK (substr(message_uuid::text, 15, 1) = '4'),
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'running', 'delivered', 'dead')),
    channel       text CHECK (channel IN ('digital-post', 'eboks')),
    note          text,  -- why it waits (exempt from digital post, no e-Boks consent)
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    failures      integer NOT NULL DEFAULT 0 CHECK (failures >= 0),  -- in a row
    run_after     timestamptz NOT NULL,
    lease_token   uuid,
    leased_until  timestamptz,
    last_error    text,
    receipt       text,
    created_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    CHECK ((state = 'running') = (lease_token IS NOT NULL AND leased_until IS NOT NULL)),
    CHECK (state <> 'delivered' OR (channel IS NOT NULL AND finished_at IS NOT NULL))
);
CREATE INDEX other_document_jobs_ready ON other_document_jobs (run_after) WHERE state = 'pending';
CREATE INDEX other_document_jobs_leased ON other_document_jobs (leased_until)
    WHERE state = 'running';
