-- The lifecycle of the schools' API credentials (issuers/credentials.py, docs/operations.md
-- "API credentials") and its audit trail.
--
-- A credential is created, maybe rotated (a new one replaces it; the old one keeps working until
-- expires_at, the overlap) and revoked. Who made it is kept, and when it was last used (at most
-- a minute stale: the guard writes it no more often).
ALTER TABLE api_credentials
    ADD COLUMN created_by   text,
    ADD COLUMN last_used_at timestamptz,
    ADD COLUMN expires_at   timestamptz,
    ADD COLUMN replaced_by  text REFERENCES api_credentials,
    ADD CONSTRAINT api_credentials_label_length CHECK (length(label) BETWEEN 1 AND 100),
    ADD CONSTRAINT api_credentials_replaced_expires
        CHECK ((replaced_by IS NULL) = (expires_at IS NULL));
CREATE INDEX api_credentials_by_school ON api_credentials (school_id, created_at);

-- Nothing of a credential changes but its use, its replacement (once) and its revocation
-- (once); the secret's hash, the school and the label stay as made. A credential is never
-- deleted: its audit trail points at it.
CREATE FUNCTION api_credentials_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'credentials are revoked, never deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (to_jsonb(NEW) - 'last_used_at' - 'revoked_at' - 'expires_at' - 'replaced_by')
           IS DISTINCT FROM (to_jsonb(OLD) - 'last_used_at' - 'revoked_at' - 'expires_at'
                             - 'replaced_by')
       OR (OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at)
       OR (OLD.replaced_by IS NOT NULL AND (NEW.replaced_by IS DISTINCT FROM OLD.replaced_by
                                            OR NEW.expires_at IS DISTINCT FROM OLD.expires_at))
    THEN
        RAISE EXCEPTION 'a credential can only be used, replaced once and revoked once'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER api_credentials_guard BEFORE UPDATE OR DELETE ON api_credentials
    FOR EACH ROW EXECUTE FUNCTION api_credentials_guard();

-- Every change to a credential and every use of it. Append-only (forbid_change, 0002_log.sql).
-- actor: 'operator:<OS user>' for the CLI, a staff person's subject for the pages, 'api' for a
-- request. route and client (the address, service/proxies.py) are a request's: 'used' and
-- 'refused' only. detail says why a use was refused or what replaced what; never a secret.
CREATE TABLE credential_events (
    id             bigserial PRIMARY KEY,
    credential_id  text NOT NULL REFERENCES api_credentials,
    school_id      text NOT NULL REFERENCES schools,
    event          text NOT NULL
                   CHECK (event IN ('created', 'rotated', 'revoked', 'used', 'refused')),
    actor          text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
    at             timestamptz NOT NULL,
    route          text CHECK (length(route) <= 300),
    client         text CHECK (length(client) <= 100),
    detail         text CHECK (length(detail) <= 300),
    CHECK ((event IN ('used', 'refused')) = (route IS NOT NULL))
);
CREATE INDEX credential_events_by_school ON credential_events (school_id, at DESC);
CREATE INDEX credential_events_by_credential ON credential_events (credential_id, at DESC);
CREATE TRIGGER credential_events_append_only BEFORE UPDATE OR DELETE ON credential_events
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER credential_events_no_truncate BEFORE TRUNCATE ON credential_events
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
