-- Staff roles granted and revoked by the service (the school administrator's page
-- /skole/medarbejdere) and by operators (`amu-bevis staff`), each recording who did it
-- (docs/pages.md, docs/operations.md "School staff and their roles").
--
-- A row of school_staff is one role held for a time: who granted it and when, who revoked it and
-- when. Rows are never deleted and nothing of a row changes but its revocation (once), so the
-- table is its own history of who could act for a school, and as what, when.
--   name:       the person's name as the granting administrator or operator gave it (optional:
--               the provider subject is the person's identity, the name only helps people read)
--   revoked_by: 'staff:<subject>' of the revoking administrator, 'operator:<OS user>' of an
--               operator; rows revoked before this migration say so
ALTER TABLE school_staff
    ADD COLUMN name       text CHECK (name IS NULL OR length(name) BETWEEN 1 AND 200),
    ADD COLUMN revoked_by text CHECK (revoked_by IS NULL OR length(revoked_by) BETWEEN 1 AND 200);
UPDATE school_staff SET revoked_by = 'unrecorded (before 0017)' WHERE revoked_at IS NOT NULL;
ALTER TABLE school_staff
    ADD CONSTRAINT school_staff_revoked_by CHECK ((revoked_at IS NULL) = (revoked_by IS NULL));
CREATE INDEX school_staff_by_school ON school_staff (school_id, granted_at DESC);

CREATE FUNCTION school_staff_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'staff roles are revoked, never deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (to_jsonb(NEW) - 'revoked_at' - 'revoked_by')
           IS DISTINCT FROM (to_jsonb(OLD) - 'revoked_at' - 'revoked_by')
       OR OLD.revoked_at IS NOT NULL
    THEN
        RAISE EXCEPTION 'a staff role can only be revoked, once'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER school_staff_guard BEFORE UPDATE OR DELETE ON school_staff
    FOR EACH ROW EXECUTE FUNCTION school_staff_guard();
CREATE TRIGGER school_staff_no_truncate BEFORE TRUNCATE ON school_staff
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
