-- Browser sessions of the pages (docs/pages.md), kept on the server so that logging out revokes
-- them and every process of the service sees the same ones. The cookie holds only a random id;
-- the row is found by the SHA-256 of that id, so a reader of this table cannot take over a
-- session. `value` is the session's JSON (who is logged in, or a login in progress).
CREATE TABLE sessions (
    key_sha256  bytea PRIMARY KEY CHECK (length(key_sha256) = 32),
    value       bytea NOT NULL,
    expires_at  timestamptz  -- NULL: no expiry (the pages always set one)
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at) WHERE expires_at IS NOT NULL;
