-- Who may use a school's pages, and as what (docs/pages.md). Staff log in as themselves with the
-- staff identity provider (MitID Erhverv); `subject` is the provider's stable identifier for the
-- person. A role is live until it is revoked; a revoked row stays as the record of who could
-- act for the school when.
--   administrator: everything a registrar may, and the school's own administration
--   registrar:     the school's overview and putting dead-lettered deliveries back in the queue
CREATE TABLE school_staff (
    id          bigserial PRIMARY KEY,
    school_id   text NOT NULL REFERENCES schools,
    subject     text NOT NULL CHECK (subject <> '' AND length(subject) <= 255),
    role        text NOT NULL CHECK (role IN ('administrator', 'registrar')),
    granted_at  timestamptz NOT NULL,
    granted_by  text NOT NULL CHECK (granted_by <> ''),  -- the granting administrator's subject
    revoked_at  timestamptz CHECK (revoked_at IS NULL OR revoked_at >= granted_at)
);
-- One live role per person and school.
CREATE UNIQUE INDEX school_staff_live ON school_staff (school_id, subject) WHERE revoked_at IS NULL;
CREATE INDEX school_staff_by_subject ON school_staff (subject) WHERE revoked_at IS NULL;
