-- Key history in the transparency log: adding, retiring and revoking a school key or a log key
-- is a registry event like any other, so a key swapped in behind the register's back has no leaf
-- and the audit names it. A leaf stands for either a certificate event or a key event.

ALTER TABLE log_leaves ADD COLUMN key_kid text;
ALTER TABLE log_leaves
    ADD CONSTRAINT log_leaves_one_subject CHECK ((event_id IS NULL) <> (key_kid IS NULL));
CREATE INDEX log_leaves_by_key ON log_leaves (key_kid) WHERE key_kid IS NOT NULL;
