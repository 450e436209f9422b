-- The school's records pages (service/pages/school_records.py) page through a school's teams,
-- participants and certificates. Each search names the school first, so a btree led by the
-- school keeps it to the school's own rows; the text filters (ILIKE on a part of a name or
-- reference) then scan only those. Certificate numbers are searched by prefix.
CREATE INDEX teams_by_school_latest ON teams (school_id, end_date DESC, created_at DESC);
CREATE INDEX certificates_by_school_number ON certificates (school_id, number text_pattern_ops);
