-- The goal catalogue as data (docs/catalogue.md): operators import it from a file, and onboard
-- and disable schools, from the command line as the tables' owner. The service only reads the
-- catalogue (grants.sql), and its history is kept: goals are closed, never deleted; exam
-- periods are ended or extended, never deleted or moved; every import and what it changed is
-- recorded.

-- Every end date is the first day on which the thing no longer holds (as attached_until).
ALTER TABLE goals
    ADD COLUMN description  text NOT NULL DEFAULT '',
    ADD COLUMN valid_from   date,
    ADD COLUMN valid_to     date CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from),
    ADD COLUMN closed_at    timestamptz,  -- a full import no longer listed it
    ADD COLUMN updated_at   timestamptz;

CREATE FUNCTION goals_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'goals are closed, never deleted' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER goals_never_deleted BEFORE DELETE ON goals
    FOR EACH ROW EXECUTE FUNCTION goals_never_deleted();

-- An exam period keeps its goal and start; its end may be set (ended), moved later or cleared
-- (extended, reattached), never moved earlier once set: courses were assessed on it.
CREATE FUNCTION goal_exam_periods_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       OR NEW.goal_number IS DISTINCT FROM OLD.goal_number
       OR NEW.attached_from IS DISTINCT FROM OLD.attached_from
       OR (OLD.attached_until IS NOT NULL AND NEW.attached_until IS NOT NULL
           AND NEW.attached_until < OLD.attached_until) THEN
        RAISE EXCEPTION 'an exam period is ended or extended, never deleted, moved or shortened'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER goal_exam_periods_history BEFORE UPDATE OR DELETE ON goal_exam_periods
    FOR EACH ROW EXECUTE FUNCTION goal_exam_periods_history();

-- Every import, and every goal it added, changed or closed with its state before and after.
CREATE TABLE catalogue_imports (
    id           bigserial PRIMARY KEY,
    imported_at  timestamptz NOT NULL,
    source       text NOT NULL,            -- the file's name as given
    sha256       bytea NOT NULL CHECK (length(sha256) = 32),
    full_import  boolean NOT NULL,
    added        integer NOT NULL,
    changed      integer NOT NULL,
    closed       integer NOT NULL,
    unchanged    integer NOT NULL
);
CREATE TABLE goal_revisions (
    import_id    bigint NOT NULL REFERENCES catalogue_imports,
    goal_number  text NOT NULL REFERENCES goals,
    change       text NOT NULL CHECK (change IN ('added', 'changed', 'closed')),
    before       jsonb,
    after        jsonb NOT NULL,
    PRIMARY KEY (import_id, goal_number)
);
CREATE TRIGGER catalogue_imports_append_only BEFORE UPDATE OR DELETE ON catalogue_imports
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER goal_revisions_append_only BEFORE UPDATE OR DELETE ON goal_revisions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- A disabled school's credentials are refused and it cannot issue; what it issued stays valid.
ALTER TABLE schools ADD COLUMN disabled_at timestamptz;

-- Whatever path issues (API, pages, a future one), a disabled school's certificate is refused
-- by the database too. The service may read schools, so the check runs as the service.
CREATE FUNCTION certificates_school_enabled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM schools WHERE id = NEW.school_id AND disabled_at IS NOT NULL) THEN
        RAISE EXCEPTION 'school % is disabled and cannot issue', NEW.school_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER certificates_school_enabled BEFORE INSERT ON certificates
    FOR EACH ROW EXECUTE FUNCTION certificates_school_enabled();
