-- Registry trust (docs/registry.md): status-list positions, corrections and revocations, key
-- history with compromise dates, and 30-year retention that removes only personal data.

-- Status list positions. Every certificate gets the next position of one sequence when it is
-- inserted, so concurrent issuers never share one and issuing code needs no change. Position p
-- is bit p % 131072 of list p / 131072 + 1 (W3C Bitstring Status List: at least 131,072 entries,
-- the same figure as registry/status_list.py's LIST_SIZE).
CREATE SEQUENCE status_list_position MINVALUE 0 START WITH 0;

-- The last day a certificate's personal data is kept: 30 years after the exam (the course's end
-- when no exam was attached), read from the signed record when it is inserted.
CREATE FUNCTION retention_date(payload bytea) RETURNS date LANGUAGE sql IMMUTABLE AS $$
    SELECT ((coalesce(doc->>'examDate', doc->>'courseEnd'))::date + interval '30 years')::date
    FROM (SELECT convert_from(payload, 'UTF8')::jsonb AS doc) AS r
$$;

ALTER TABLE certificates
    ADD COLUMN status_list_id     integer CHECK (status_list_id >= 1),
    ADD COLUMN status_list_index  integer CHECK (status_list_index BETWEEN 0 AND 131071),
    ADD COLUMN retain_until       date,
    ADD COLUMN erased_at          timestamptz;

-- Give the certificates already registered their positions, oldest first. The append-only
-- trigger is off only inside this migration's transaction.
ALTER TABLE certificates DISABLE TRIGGER certificates_append_only;
UPDATE certificates c
SET status_list_id = o.pos / 131072 + 1,
    status_list_index = o.pos % 131072,
    retain_until = retention_date(c.payload)
FROM (
    SELECT number, nextval('status_list_position') AS pos
    FROM (SELECT number FROM certificates ORDER BY issued_at, number) AS ordered
) AS o
WHERE o.number = c.number;
ALTER TABLE certificates ENABLE TRIGGER certificates_append_only;

ALTER TABLE certificates
    ALTER COLUMN status_list_id SET NOT NULL,
    ALTER COLUMN status_list_index SET NOT NULL,
    ALTER COLUMN retain_until SET NOT NULL,
    ADD CONSTRAINT certificates_status_position UNIQUE (status_list_id, status_list_index),
    -- Personal data goes all at once, and only by the retention job (see certificates_guard).
    ALTER COLUMN cpr DROP NOT NULL,
    ALTER COLUMN payload DROP NOT NULL,
    ALTER COLUMN jws DROP NOT NULL,
    ADD CONSTRAINT certificates_erased_whole CHECK (
        (erased_at IS NULL AND cpr IS NOT NULL AND payload IS NOT NULL AND jws IS NOT NULL)
        OR (erased_at IS NOT NULL AND cpr IS NULL AND payload IS NULL AND jws IS NULL));

-- The position and retention date are the database's to set, whatever an insert says.
CREATE FUNCTION certificates_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pos bigint := nextval('status_list_position');
BEGIN
    NEW.status_list_id := pos / 131072 + 1;
    NEW.status_list_index := pos % 131072;
    NEW.retain_until := retention_date(NEW.payload);
    NEW.erased_at := NULL;
    RETURN NEW;
END;
$$;
CREATE TRIGGER certificates_positions BEFORE INSERT ON certificates
    FOR EACH ROW EXECUTE FUNCTION certificates_on_insert();

-- Still append-only, with one controlled exception: the retention job may blank the personal
-- columns (cpr, payload, jws) of a row whose retention date has passed by the database's own
-- clock, and only when it switched amu.retention on for its transaction (set_config(..., true)).
-- Every other column, the log and the events stay as they were.
CREATE FUNCTION certificates_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    personal CONSTANT text[] := ARRAY['cpr', 'payload', 'jws', 'erased_at'];
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_setting('amu.retention', true) = 'on'
       AND OLD.erased_at IS NULL
       AND OLD.retain_until < current_date
       AND NEW.erased_at IS NOT NULL
       AND NEW.cpr IS NULL AND NEW.payload IS NULL AND NEW.jws IS NULL
       AND (to_jsonb(NEW) - personal) = (to_jsonb(OLD) - personal) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the register is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER certificates_append_only ON certificates;
CREATE TRIGGER certificates_append_only BEFORE UPDATE OR DELETE ON certificates
    FOR EACH ROW EXECUTE FUNCTION certificates_guard();

-- A participation's personal data is removed with its certificates' (registry/retention.py).
ALTER TABLE participations
    ALTER COLUMN cpr DROP NOT NULL,
    ALTER COLUMN name DROP NOT NULL,
    ADD COLUMN erased_at timestamptz,
    ADD CONSTRAINT participations_erased_whole CHECK (
        (erased_at IS NULL) = (cpr IS NOT NULL AND name IS NOT NULL));

-- Status events after issuing: a certificate ends at most once (cancelled, possibly replaced,
-- or revoked), with a reason category; a replacement replaces one certificate only.
ALTER TABLE certificate_events
    ADD CONSTRAINT certificate_events_reason CHECK (
        CASE kind
            WHEN 'issued' THEN reason IS NULL AND replaced_by IS NULL
            WHEN 'cancelled' THEN reason IN (
                'participant-data', 'course-data', 'result-data', 'other-error')
            WHEN 'revoked' THEN replaced_by IS NULL AND reason IN (
                'issued-in-error', 'exam-annulled', 'fraud', 'other')
        END);
CREATE UNIQUE INDEX certificate_events_one_end ON certificate_events (certificate_number)
    WHERE kind <> 'issued';
CREATE UNIQUE INDEX certificate_events_replaced_once ON certificate_events (replaced_by)
    WHERE replaced_by IS NOT NULL;

-- Key history: a compromised key is revoked from a date (what it signed from then on is marked);
-- revoked_at is when that was recorded. Like retirement, a revocation is set once, never undone.
ALTER TABLE school_keys
    ADD COLUMN revoked_from timestamptz,
    ADD COLUMN revoked_at timestamptz,
    ADD CONSTRAINT school_keys_revocation CHECK ((revoked_from IS NULL) = (revoked_at IS NULL));
ALTER TABLE log_keys
    ADD COLUMN revoked_from timestamptz,
    ADD COLUMN revoked_at timestamptz,
    ADD CONSTRAINT log_keys_revocation CHECK ((revoked_from IS NULL) = (revoked_at IS NULL));

-- Read through jsonb: the function also guards tables without the revocation columns
-- (school_document_certificates, migration 0007).
CREATE OR REPLACE FUNCTION keys_retire_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    history CONSTANT text[] := ARRAY['retired_at', 'revoked_from', 'revoked_at'];
    old_row jsonb := to_jsonb(OLD);
    new_row jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'keys are retired, never deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    new_row := to_jsonb(NEW);
    IF (new_row - history) IS DISTINCT FROM (old_row - history)
       OR (old_row->>'retired_at' IS NOT NULL
           AND new_row->'retired_at' IS DISTINCT FROM old_row->'retired_at')
       OR (old_row->>'revoked_from' IS NOT NULL
           AND jsonb_build_array(new_row->'revoked_from', new_row->'revoked_at')
               IS DISTINCT FROM jsonb_build_array(old_row->'revoked_from', old_row->'revoked_at'))
    THEN
        RAISE EXCEPTION 'a key can only be retired once and revoked once'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

-- A checkpoint is stored once per tree size and key, so a rotated log key signs the current
-- size afresh instead of the old key's note being served.
ALTER TABLE log_checkpoints DROP CONSTRAINT log_checkpoints_pkey,
    ADD PRIMARY KEY (size, kid);
