-- Delivery (docs/delivery.md): a transactional outbox of delivery jobs, every attempt made on
-- them, the participants' e-Boks consents as private schools record them, and the print spool's
-- print jobs when the spool is a table.

-- One job per certificate and purpose, created in the issuing transaction. 'issue' delivers the
-- certificate the first time; 'digital-after-paper' delivers it digitally once that becomes
-- possible after it went on paper because it could not go digitally.
CREATE TABLE delivery_jobs (
    id                  bigserial PRIMARY KEY,
    certificate_number  text NOT NULL REFERENCES certificates,
    school_id           text NOT NULL REFERENCES schools,
    purpose             text NOT NULL CHECK (purpose IN ('issue', 'digital-after-paper')),
    -- The MeMo messageUUID: fixed per certificate, so a retry is never a second message.
    -- MeMo's memoUuidType demands version 4.
    message_uuid        uuid NOT NULL CHECK (substr(message_uuid::text, 15, 1) = '4'),
    state               text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'running', 'delivered', 'dead')),
    channel             text CHECK (channel IN ('digital-post', 'eboks', 'paper')),
    note                text,          -- why the certificate went where it went (exempt, ...)
    due_on              date NOT NULL, -- 10 working days after the exam or the course's end
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    failures            integer NOT NULL DEFAULT 0 CHECK (failures >= 0),  -- in a row
    max_failures        integer NOT NULL CHECK (max_failures > 0),
    run_after           timestamptz NOT NULL,
    lease_token         uuid,          -- fences a worker whose lease ran out
    leased_until        timestamptz,
    last_error          text,
    receipt             text,
    created_at          timestamptz NOT NULL,
    finished_at         timestamptz,
    UNIQUE (certificate_number, purpose),
    CHECK ((state = 'running') = (lease_token IS NOT NULL AND leased_until IS NOT NULL)),
    CHECK (state <> 'delivered' OR (channel IS NOT NULL AND finished_at IS NOT NULL))
);
CREATE INDEX delivery_jobs_ready ON delivery_jobs (run_after) WHERE state = 'pending';
CREATE INDEX delivery_jobs_leased ON delivery_jobs (leased_until) WHERE state = 'running';
CREATE INDEX delivery_jobs_by_school ON delivery_jobs (school_id, state, due_on);

-- Every claim of a job by a worker. An attempt whose outcome stays NULL was interrupted (the
-- worker died); the next claim marks it 'abandoned'.
CREATE TABLE delivery_attempts (
    id            bigserial PRIMARY KEY,
    job_id        bigint NOT NULL REFERENCES delivery_jobs,
    number        integer NOT NULL CHECK (number > 0),
    worker        text NOT NULL,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    outcome       text CHECK (outcome IN (
                      'delivered', 'failed', 'dead', 'rescheduled', 'abandoned', 'superseded')),
    channel       text CHECK (channel IN ('digital-post', 'eboks', 'paper')),
    detail        text,
    receipt       text,
    UNIQUE (job_id, number),
    CHECK ((outcome IS NULL) = (finished_at IS NULL))
);

-- A participant's consent to e-Boks delivery, as a private school records it. Append-only: the
-- latest row per school and person is the current answer.
CREATE TABLE eboks_consents (
    id           bigserial PRIMARY KEY,
    school_id    text NOT NULL REFERENCES schools,
    cpr          text NOT NULL CHECK (cpr ~ '^[0-9]{6}-[0-9]{4}$'),
    consented    boolean NOT NULL,
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX eboks_consents_latest ON eboks_consents (school_id, cpr, id DESC);

-- The print spool as a table (the other adapter is a folder): one row per paper certificate,
-- read by the school as a daily print list.
CREATE TABLE print_jobs (
    id                  bigserial PRIMARY KEY,
    spool_key           text NOT NULL UNIQUE,  -- one print per delivery job
    school_id           text NOT NULL REFERENCES schools,
    certificate_number  text NOT NULL REFERENCES certificates,
    participant_name    text NOT NULL,
    reason              text NOT NULL,
    spool_date          date NOT NULL,
    pdf                 bytea NOT NULL,
    spooled_at          timestamptz NOT NULL,
    printed_at          timestamptz
);
CREATE INDEX print_jobs_daily ON print_jobs (school_id, spool_date, id);
