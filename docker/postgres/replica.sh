#!/usr/bin/env bash
# The streaming read replica's entrypoint: on an empty data volume, copy the primary with
# pg_basebackup (streaming its WAL, through the slot primary-init.sh made, with -R writing the
# standby's connection settings), then run PostgreSQL as a hot standby. Runs as user postgres.
set -euo pipefail

: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD in docker/.env}"
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
PRIMARY_HOST="${PRIMARY_HOST:-primary}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready --quiet --host "$PRIMARY_HOST" --username amu_replication; do
        echo "replica: waiting for $PRIMARY_HOST"
        sleep 2
    done
    # PGPASSWORD only for this command; -R keeps it in postgresql.auto.conf (mode 0600).
    PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup --host "$PRIMARY_HOST" \
        --username amu_replication --pgdata "$PGDATA" --wal-method stream \
        --slot amu_replica --write-recovery-conf --checkpoint fast --progress
    chmod 0700 "$PGDATA"
fi

exec postgres -c hot_standby=on "$@"
