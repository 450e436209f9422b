-- What the service role may do: applied by `migrations.apply` after every migration run, as the
-- owner role, in one transaction. {service} is the role the service connects as (DATABASE_URL),
-- {schema} the schema the tables live in. Everything is revoked first, so this file is the whole
-- truth: a table or column missing here is one the service cannot touch, and a migration that
-- adds a table must add it here (the tests run every route as the service role).
--
-- The service owns nothing, so it can run no DDL (CREATE, ALTER, DROP), no TRUNCATE and no
-- ALTER TABLE ... DISABLE TRIGGER; it is no superuser, so `session_replication_role = replica`
-- is refused too. UPDATE is granted column by column: only the columns the store modules set.
-- (SELECT ... FOR UPDATE needs UPDATE on one column of the table; each such table has one.)

REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {service};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {service};
GRANT USAGE ON SCHEMA {schema} TO {service};
-- nextval() only (USAGE, not UPDATE: no setval); the bigserial ids, certificate_serial and
-- status_list_position (drawn by the certificates insert trigger, which runs as the service).
GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {service};

-- The service checks at start that the schema is current; only migrations write this table.
GRANT SELECT ON schema_migrations TO {service};

-- The register (docs/registry.md). Append-only: insert and read, never change or delete
-- (triggers forbid it too; without the grant, the service cannot even try).
GRANT SELECT, INSERT ON certificate_events, log_leaves, log_nodes, log_checkpoints,
    exam_attempts, composite_courses, composite_course_goals, access_events,
    document_authorities, school_document_certificates TO {service};
-- Retention blanks the personal columns of a certificate past retention
-- (registry/retention_store.py); the signed columns stay untouched. Revocation and replacement
-- lock the row (FOR UPDATE), which this grant covers.
GRANT SELECT, INSERT ON certificates TO {service};
GRANT UPDATE (cpr, payload, jws, erased_at) ON certificates TO {service};
-- Keys are retired at rotation and revoked from a date (registry/keyhistory_store.py).
GRANT SELECT, INSERT ON school_keys, log_keys TO {service};
GRANT UPDATE (retired_at, revoked_from, revoked_at) ON school_keys, log_keys TO {service};
-- The log's one head row moves with every appended leaf (registry/transparency/log.py).
GRANT SELECT ON log_head TO {service};
GRANT UPDATE (size, edge) ON log_head TO {service};

-- The schools' side (issuers/school_store.py).
GRANT SELECT, INSERT ON schools, api_credentials, teams TO {service};
-- The goal catalogue is read only: operators import it as the tables' owner
-- (`amu-bevis catalogue import`, docs/catalogue.md), so the service cannot rewrite the exam
-- history the rules decide on. Its import log (catalogue_imports, goal_revisions) is the
-- owner's alone.
GRANT SELECT ON goals, goal_exam_periods TO {service};
-- A participation's reported facts and result change until a certificate is issued; retention
-- blanks its personal columns (issuers/retention_store.py).
GRANT SELECT, INSERT ON participations TO {service};
GRANT UPDATE (facts, result_group, result_category, result_due_by, cpr, name, erased_at)
    ON participations TO {service};
-- An idempotency key is claimed first and its answer stored once the request is done.
GRANT SELECT, INSERT ON idempotency_keys TO {service};
GRANT UPDATE (response_body) ON idempotency_keys TO {service};

-- Delivery (issuers/delivery/job_store.py): a job queue, its state changes as workers take,
-- finish, retry and dead-letter jobs; an attempt is finished (or abandoned) once.
GRANT SELECT, INSERT ON delivery_jobs TO {service};
GRANT UPDATE (state, lease_token, leased_until, attempts, channel, receipt, note, finished_at,
    failures, run_after, last_error) ON delivery_jobs TO {service};
GRANT SELECT, INSERT ON delivery_attempts TO {service};
GRANT UPDATE (outcome, finished_at, channel, detail, receipt) ON delivery_attempts TO {service};
-- Retention blanks a printed job's PDF and name (issuers/retention_store.py).
GRANT SELECT, INSERT ON print_jobs TO {service};
GRANT UPDATE (pdf, participant_name, erased_at) ON print_jobs TO {service};
-- Retention deletes a person's e-Boks answers once nothing of theirs is kept.
GRANT SELECT, INSERT, DELETE ON eboks_consents TO {service};

-- The pages for people (registry/access_store.py): a person revokes their own share link;
-- wrong-code counters are upserted per window and old windows deleted.
GRANT SELECT, INSERT ON share_links TO {service};
GRANT UPDATE (revoked_at) ON share_links TO {service};
GRANT SELECT, INSERT, DELETE ON verify_failures TO {service};
GRANT UPDATE (failures) ON verify_failures TO {service};

-- The schools' API credentials (issuers/credential_store.py): a credential is used (its
-- last_used_at, at most once a minute), replaced once by a rotation (replaced_by, expires_at:
-- the overlap) and revoked once; a trigger holds those to once (0016_credential_events.sql).
-- Its audit trail is append-only: insert and read.
GRANT UPDATE (last_used_at, revoked_at, expires_at, replaced_by) ON api_credentials
    TO {service};
GRANT SELECT, INSERT ON credential_events TO {service};

-- Browser sessions (service/session_store.py): made at login, renewed while used, deleted at
-- logout (revocation) and when expired.
GRANT SELECT, INSERT, DELETE ON sessions TO {service};
GRANT UPDATE (value, expires_at) ON sessions TO {service};
-- Staff roles (issuers/staff_store.py): the login reads them; a school's administrator grants
-- and revokes them on the pages (an operator with `amu-bevis staff`). A role is revoked once,
-- never changed or deleted (a trigger holds it so, 0017_staff_roles.sql); revoking locks the
-- school's live roles (FOR UPDATE), which the UPDATE grant covers.
GRANT SELECT, INSERT ON school_staff TO {service};
GRANT UPDATE (revoked_at, revoked_by) ON school_staff TO {service};

-- Participation and combined documents (issuers/other_document_store.py): issued once, changed
-- only when the retention run erases them; their delivery jobs (issuers/delivery/
-- document_job_store.py) move from pending through running to delivered or dead.
GRANT SELECT, INSERT ON team_document_settings, other_documents TO {service};
GRANT UPDATE (cpr, name, erased_at) ON other_documents TO {service};
GRANT SELECT, INSERT ON other_document_jobs TO {service};
GRANT UPDATE (state, channel, note, attempts, failures, run_after, lease_token, leased_until,
    last_error, receipt, finished_at) ON other_document_jobs TO {service};

-- Delivery workers' heartbeats (issuers/delivery/worker_store.py): a worker adds its row at
-- start, touches it every poll, and deletes it at a clean stop (and any row a day old).
GRANT SELECT, INSERT, DELETE ON delivery_workers TO {service};
GRANT UPDATE (last_seen) ON delivery_workers TO {service};
