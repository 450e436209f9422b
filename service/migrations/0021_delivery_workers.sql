-- Delivery workers say they are alive (issuers/delivery/worker_store.py): each running worker
-- keeps one row, touched every poll, and removes it when it stops cleanly. /health/ready needs
-- a worker seen within AMU_HEALTH_WORKER_SECONDS; a row left by a worker that died stays until
-- it is older than a day and the next worker to start clears it. No personal data.
CREATE TABLE delivery_workers (
    worker_id   uuid PRIMARY KEY,           -- fresh per worker run: pids repeat across hosts
    host        text NOT NULL CHECK (length(host) BETWEEN 1 AND 255),
    pid         integer NOT NULL CHECK (pid > 0),
    started_at  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL CHECK (last_seen >= started_at)
);
CREATE INDEX delivery_workers_by_last_seen ON delivery_workers (last_seen);
