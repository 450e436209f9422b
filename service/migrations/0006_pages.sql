-- Pages for people (docs/pages.md): participants' share links, the access log they read, and the
-- counters that rate-limit guessing verification codes.

-- A link a participant gives an employer. Only the SHA-256 of the 256-bit token is stored: the
-- token is random, so a slow hash would add nothing, and a database reader cannot open links.
CREATE TABLE share_links (
    id                  bigserial PRIMARY KEY,
    token_sha256        bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    certificate_number  text NOT NULL REFERENCES certificates,
    created_at          timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL CHECK (expires_at > created_at),
    revoked_at          timestamptz CHECK (revoked_at IS NULL OR revoked_at >= created_at)
);
CREATE INDEX share_links_by_certificate ON share_links (certificate_number, id DESC);

-- Every time someone other than the participant saw a certificate: through a share link, or by
-- number and code on the verification page or the verification API. No IP address or other
-- trace of the viewer is kept; the participant sees when and by which channel.
CREATE TABLE access_events (
    id                  bigserial PRIMARY KEY,
    certificate_number  text NOT NULL REFERENCES certificates,
    at                  timestamptz NOT NULL,
    channel             text NOT NULL CHECK (channel IN ('share-link', 'verify-page', 'verify-api')),
    share_link_id       bigint REFERENCES share_links,
    CHECK ((channel = 'share-link') = (share_link_id IS NOT NULL))
);
CREATE INDEX access_events_by_certificate ON access_events (certificate_number, at DESC);

-- Failed verification lookups per fixed window, per client and per certificate number. The key
-- is a SHA-256 (of 'ip:<address>' or 'number:<number>'), so no address is stored in the clear.
CREATE TABLE verify_failures (
    key           bytea NOT NULL CHECK (length(key) = 32),
    window_start  timestamptz NOT NULL,
    failures      integer NOT NULL CHECK (failures > 0),
    PRIMARY KEY (key, window_start)
);
CREATE INDEX verify_failures_by_window ON verify_failures (window_start);
