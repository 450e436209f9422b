-- The transparency log (RFC 9162 hashing) over every registry event, and append-only rules
-- enforced by the database itself.

-- The registry's own keys for signing checkpoints: added and retired, never deleted.
CREATE TABLE log_keys (
    kid         text PRIMARY KEY,
    name        text NOT NULL,                  -- the note key name (the log's origin)
    public_key  bytea NOT NULL CHECK (length(public_key) = 32),
    valid_from  timestamptz NOT NULL,
    retired_at  timestamptz CHECK (retired_at IS NULL OR retired_at >= valid_from)
);
CREATE UNIQUE INDEX log_keys_one_active ON log_keys ((true)) WHERE retired_at IS NULL;

-- One leaf per registry event. The entry is canonical JSON naming the event and the SHA-256 of
-- the signed record; it holds no personal data, so it outlives retention.
CREATE TABLE log_leaves (
    idx                 bigint PRIMARY KEY CHECK (idx >= 0),
    entry               bytea NOT NULL,
    leaf_hash           bytea NOT NULL CHECK (length(leaf_hash) = 32),
    certificate_number  text REFERENCES certificates,
    event_id            bigint UNIQUE REFERENCES certificate_events
);
CREATE INDEX log_leaves_by_certificate ON log_leaves (certificate_number, idx);

-- Every perfect subtree hash, stored once when its last leaf arrives (registry/merkle.py):
-- proofs read O(log n) of these, never the whole tree.
CREATE TABLE log_nodes (
    level  smallint NOT NULL CHECK (level >= 0),
    idx    bigint NOT NULL CHECK (idx >= 0),
    hash   bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

-- The head of the log: its size and right edge. Appending locks this one row, which sequences
-- concurrent writers; the lock is held only from the append to the commit.
CREATE TABLE log_head (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    size       bigint NOT NULL CHECK (size >= 0),
    edge       bytea[] NOT NULL
);
INSERT INTO log_head (size, edge) VALUES (0, '{}');

-- Signed checkpoints (C2SP signed note) as published.
CREATE TABLE log_checkpoints (
    size       bigint PRIMARY KEY,
    root_hash  bytea NOT NULL CHECK (length(root_hash) = 32),
    kid        text NOT NULL REFERENCES log_keys,
    note       bytea NOT NULL,
    signed_at  timestamptz NOT NULL
);

-- Append-only: rows of the register and its log are inserted, never changed or removed.
CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the register is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER certificates_append_only BEFORE UPDATE OR DELETE ON certificates
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER certificate_events_append_only BEFORE UPDATE OR DELETE ON certificate_events
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER log_leaves_append_only BEFORE UPDATE OR DELETE ON log_leaves
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER log_nodes_append_only BEFORE UPDATE OR DELETE ON log_nodes
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER log_checkpoints_append_only BEFORE UPDATE OR DELETE ON log_checkpoints
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER certificates_no_truncate BEFORE TRUNCATE ON certificates
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
CREATE TRIGGER log_leaves_no_truncate BEFORE TRUNCATE ON log_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- Keys are retired, never deleted, and a retirement is never undone or moved.
CREATE FUNCTION keys_retire_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'keys are retired, never deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.retired_at IS NOT NULL
       OR (to_jsonb(NEW) - 'retired_at') IS DISTINCT FROM (to_jsonb(OLD) - 'retired_at') THEN
        RAISE EXCEPTION 'a key can only be retired, once' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER school_keys_retire_only BEFORE UPDATE OR DELETE ON school_keys
    FOR EACH ROW EXECUTE FUNCTION keys_retire_only();
CREATE TRIGGER log_keys_retire_only BEFORE UPDATE OR DELETE ON log_keys
    FOR EACH ROW EXECUTE FUNCTION keys_retire_only();
