#!/usr/bin/env bash
# Run once by the postgres image's entrypoint on an empty data volume (/docker-entrypoint-initdb.d),
# as the superuser. Makes the roles of docs/operations.md "Database roles": the tables' owner
# (migrations), the service's role (owns nothing, no superuser) and a replication role for the
# streaming replica, with the database owned by the owner and a replication slot that keeps the
# WAL the replica has not received yet. Passwords come from the environment (docker/.env).
set -euo pipefail

: "${OWNER_PASSWORD:?set OWNER_PASSWORD in docker/.env}"
: "${SERVICE_PASSWORD:?set SERVICE_PASSWORD in docker/.env}"
: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD in docker/.env}"

# psql's :'name' quotes each password as a literal; none is on a command line or in a log.
psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v owner_password="$OWNER_PASSWORD" \
    -v service_password="$SERVICE_PASSWORD" \
    -v replication_password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE amu_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE amu_service LOGIN PASSWORD :'service_password';
CREATE ROLE amu_replication LOGIN REPLICATION PASSWORD :'replication_password';
CREATE DATABASE amu OWNER amu_owner;
\connect amu
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE TEMPORARY ON DATABASE amu FROM PUBLIC;
SELECT pg_create_physical_replication_slot('amu_replica');
SQL

# The image's pg_hba.conf lets every role in to every database by password, but a replication
# connection matches only lines that name "replication".
echo "host replication amu_replication all scram-sha-256" >>"$PGDATA/pg_hba.conf"
