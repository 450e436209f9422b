-- The foundation: schools and their credentials and keys, the AMU goal catalogue, teams and
-- participations, the certificate register with its status events, and idempotency records.

CREATE TABLE schools (
    id          text PRIMARY KEY CHECK (id ~ '^[0-9]{6}$'),  -- institution number
    name        text NOT NULL CHECK (name <> ''),
    cvr         text NOT NULL CHECK (cvr ~ '^[0-9]{8}$'),
    ownership   text NOT NULL CHECK (ownership IN ('public', 'private')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Per-school API credentials. Only a SHA-256 of the random secret is stored: the secret is
-- 256 bits of randomness, so a slow password hash would add nothing but latency.
CREATE TABLE api_credentials (
    id             text PRIMARY KEY,
    school_id      text NOT NULL REFERENCES schools,
    secret_sha256  bytea NOT NULL CHECK (length(secret_sha256) = 32),
    label          text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);

-- The public halves of the schools' signing keys, published by the registry. Keys are retired,
-- never deleted: a retired key still verifies what it signed while it was valid.
CREATE TABLE school_keys (
    kid           text PRIMARY KEY,
    school_id     text NOT NULL REFERENCES schools,
    algorithm     text NOT NULL DEFAULT 'Ed25519' CHECK (algorithm = 'Ed25519'),
    public_key    bytea NOT NULL CHECK (length(public_key) = 32),
    valid_from    timestamptz NOT NULL,
    retired_at    timestamptz CHECK (retired_at IS NULL OR retired_at >= valid_from)
);
CREATE UNIQUE INDEX school_keys_one_active ON school_keys (school_id) WHERE retired_at IS NULL;

-- The AMU goal catalogue (AMU-mål).
CREATE TABLE goals (
    number         text PRIMARY KEY CHECK (number ~ '^[0-9]{5}$'),
    title          text NOT NULL CHECK (title <> ''),
    duration_days  numeric(4, 1) NOT NULL CHECK (duration_days > 0),
    ikv            boolean NOT NULL DEFAULT false
);

-- When an exam (UVM-prøve) was attached to a goal: the start date of a course decides its
-- result group, so the catalogue keeps the history, not just today's state.
CREATE TABLE goal_exam_periods (
    goal_number     text NOT NULL REFERENCES goals,
    attached_from   date NOT NULL,
    attached_until  date CHECK (attached_until IS NULL OR attached_until > attached_from),
    PRIMARY KEY (goal_number, attached_from)
);

-- A team (hold): one AMU goal run by one school between two dates.
CREATE TABLE teams (
    id          uuid PRIMARY KEY,
    school_id   text NOT NULL REFERENCES schools,
    reference   text NOT NULL CHECK (reference <> ''),
    goal_number text NOT NULL REFERENCES goals,
    start_date  date NOT NULL,
    end_date    date NOT NULL CHECK (end_date >= start_date),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, reference, goal_number)
);

-- A course participation (kursusdeltagelse): one participant on one team.
CREATE TABLE participations (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams,
    cpr         text NOT NULL CHECK (cpr ~ '^[0-9]{6}-[0-9]{4}$'),
    name        text NOT NULL CHECK (name <> ''),
    facts       jsonb NOT NULL,        -- what the school reported, as the rules engine reads it
    result_group     smallint CHECK (result_group IN (1, 2)),
    result_category  smallint CHECK (result_category BETWEEN 1 AND 6),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, cpr)
);

CREATE SEQUENCE certificate_serial;

-- The register. The signed record (canonical bytes and the compact JWS) is the truth; the
-- other columns are copies of it kept for lookups.
CREATE TABLE certificates (
    number             text PRIMARY KEY,
    school_id          text NOT NULL REFERENCES schools,
    participation_id   uuid REFERENCES participations,
    cpr                text NOT NULL CHECK (cpr ~ '^[0-9]{6}-[0-9]{4}$'),
    kid                text NOT NULL REFERENCES school_keys,
    payload            bytea NOT NULL,
    jws                text NOT NULL,
    verification_code  text NOT NULL CHECK (verification_code ~ '^[0-9A-Z]{8}$'),
    issued_at          timestamptz NOT NULL
);
CREATE INDEX certificates_by_cpr ON certificates (cpr, issued_at DESC);
CREATE INDEX certificates_by_participation ON certificates (participation_id);

CREATE TABLE certificate_events (
    id                  bigserial PRIMARY KEY,
    certificate_number  text NOT NULL REFERENCES certificates,
    kind                text NOT NULL CHECK (kind IN ('issued', 'cancelled', 'revoked')),
    reason              text,
    replaced_by         text REFERENCES certificates,
    at                  timestamptz NOT NULL
);
CREATE INDEX certificate_events_by_certificate ON certificate_events (certificate_number, id);

-- A repeated request with the same key returns the stored response and creates nothing.
CREATE TABLE idempotency_keys (
    school_id       text NOT NULL REFERENCES schools,
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_sha256  bytea NOT NULL,
    status_code     smallint,
    response        jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (school_id, key)
);
