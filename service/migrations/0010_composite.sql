-- Composite courses (sammensatte forløb): a school runs several goals as one course. Each goal
-- is one of the school's teams and keeps its own participations and results; the course only
-- groups them, so the combined document can say which goals were completed together (003).

-- Lets a course's goal row point at the team's own school and goal, so neither can disagree.
ALTER TABLE teams ADD CONSTRAINT teams_id_school_goal UNIQUE (id, school_id, goal_number);

CREATE TABLE composite_courses (
    id          uuid PRIMARY KEY,
    school_id   text NOT NULL REFERENCES schools,
    reference   text NOT NULL CHECK (reference <> ''),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, reference),
    UNIQUE (id, school_id)
);

-- The course's goals in the order the school gave them: a goal appears once, and only a team of
-- the course's own school can be one of them.
CREATE TABLE composite_course_goals (
    course_id    uuid NOT NULL,
    school_id    text NOT NULL,
    position     smallint NOT NULL CHECK (position >= 0),
    team_id      uuid NOT NULL,
    goal_number  text NOT NULL,
    PRIMARY KEY (course_id, position),
    UNIQUE (course_id, goal_number),
    UNIQUE (course_id, team_id),
    FOREIGN KEY (course_id, school_id) REFERENCES composite_courses (id, school_id),
    FOREIGN KEY (team_id, school_id, goal_number) REFERENCES teams (id, school_id, goal_number)
);
CREATE INDEX composite_course_goals_team ON composite_course_goals (team_id);

-- A course is declared once: its goals never change under the documents shown for it.
CREATE TRIGGER composite_courses_append_only BEFORE UPDATE OR DELETE ON composite_courses
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER composite_course_goals_append_only BEFORE UPDATE OR DELETE ON composite_course_goals
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
