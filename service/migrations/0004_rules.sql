-- What the AMU rules engine needs: exam parts and authority certificates in the catalogue, split
-- courses, every exam attempt kept forever, and which document each certificate fulfils.

ALTER TABLE goals
    ADD COLUMN exam_parts smallint NOT NULL DEFAULT 1 CHECK (exam_parts BETWEEN 1 AND 5),
    ADD COLUMN authority_certificate boolean NOT NULL DEFAULT false;

-- A split course (several periods) is one participation with one result; [] = start to end.
ALTER TABLE teams ADD COLUMN periods jsonb NOT NULL DEFAULT '[]';

-- Every exam attempt (prøve, omprøve, flyttet prøve) as recorded: never changed, never removed.
CREATE TABLE exam_attempts (
    participation_id  uuid NOT NULL REFERENCES participations,
    seq               smallint NOT NULL CHECK (seq >= 0),
    attempt           jsonb NOT NULL,
    recorded_at       timestamptz NOT NULL,
    PRIMARY KEY (participation_id, seq)
);
CREATE TRIGGER exam_attempts_append_only BEFORE UPDATE OR DELETE ON exam_attempts
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Which due document a certificate fulfils: the participation's own goal, a goal demonstrated in
-- an IKV, or the IKV activity itself. Issuing checks, under a lock on the participation, that a
-- document is issued once (a corrected certificate is cancelled and replaced, so this cannot be
-- a unique index).
ALTER TABLE certificates
    ADD COLUMN kind text NOT NULL DEFAULT 'amu' CHECK (kind IN ('amu', 'ikv-activity')),
    ADD COLUMN goal_number text REFERENCES goals;

-- When a participation's final result is due while it has none (for the overdue list).
ALTER TABLE participations ADD COLUMN result_due_by date;
CREATE INDEX participations_pending ON participations (result_due_by) WHERE result_due_by IS NOT NULL;
