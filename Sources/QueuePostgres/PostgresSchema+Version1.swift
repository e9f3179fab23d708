extension PostgresSchema {
    /// Migration 1, "v1-queue": the whole queue, equivalent to the SQLite schema
    /// after all of its migrations (see `SQLiteJobStore.migrator`), with what
    /// several hosts sharing one database need on top:
    ///
    /// - Times are queuectl's (`BIGINT` ms since the epoch, ``Timestamp``), but leases
    ///   are measured on the database's clock: `queuectl_now_ms()` is the server's
    ///   current time, so clock skew between hosts cannot expire a live worker.
    /// - Runs record their `host`, and their output lives in the database
    ///   (`run_output`, capped by the `output-limit` config), so `logs` and the
    ///   monitor's log tail work from any host.
    /// - Counts of jobs per queue and state, and the run totals behind `metrics`,
    ///   are kept by triggers in rows sharded by the writing connection
    ///   (``countShards``) and summed on read: no single counter row that every
    ///   claim and finish would lock.
    /// - A statement that makes jobs claimable (an enqueue, a retry coming due, a
    ///   dependency released) notifies ``wakeChannel(schema:)`` once, delivered
    ///   when its transaction commits.
    /// - A `unique_key` is unique among jobs that are not final by index, since
    ///   enqueues on two hosts can run at the same time.
    static func version1(_ schema: String) -> [String] {
        let s = "\"\(schema)\""
        let channel = wakeChannel(schema: schema)
        // Frozen here: a new state needs a migration that widens the check.
        let states = "'pending', 'blocked', 'processing', 'completed', 'failed', 'dead', 'scheduled', 'cancelled'"
        let bucket = "CASE " + PostgresJobStore.runDurationBoundsMilliseconds.map { "WHEN d <= \($0) THEN \($0)" }.joined(separator: " ") + " ELSE -1 END"
        return [
            // The database's clock in queuectl's unit. clock_timestamp(), not now():
            // the time of the call, not of the transaction's start.
            """
            CREATE FUNCTION \(s).queuectl_now_ms() RETURNS BIGINT LANGUAGE sql VOLATILE PARALLEL SAFE
            AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT $$
            """,
            // The counter row a connection writes (see PostgresSchema.countShards).
            """
            CREATE FUNCTION \(s).queuectl_shard() RETURNS SMALLINT LANGUAGE sql STABLE PARALLEL SAFE
            AS $$ SELECT (pg_backend_pid() % \(countShards))::SMALLINT $$
            """,
            // Wakes idle workers: NOTIFY at commit (several in one transaction arrive as one).
            """
            CREATE FUNCTION \(s).queuectl_wake() RETURNS VOID LANGUAGE sql VOLATILE
            AS $$ SELECT pg_notify('\(channel)', '') $$
            """,

            """
            CREATE TABLE \(s).jobs (
                seq               BIGSERIAL PRIMARY KEY,      -- insertion order: FIFO tie-break
                id                TEXT NOT NULL UNIQUE,
                command           TEXT NOT NULL,
                state             TEXT NOT NULL CHECK (state IN (\(states))),
                attempts          INTEGER NOT NULL DEFAULT 0,
                max_retries       INTEGER NOT NULL,
                priority          INTEGER NOT NULL DEFAULT 0,
                run_at            BIGINT NOT NULL,            -- ms since epoch
                timeout           DOUBLE PRECISION,           -- seconds; NULL: the job-timeout config
                created_at        BIGINT NOT NULL,
                updated_at        BIGINT NOT NULL,
                last_error        TEXT,
                exit_code         INTEGER,
                worker_id         TEXT,
                queue             TEXT NOT NULL DEFAULT 'default',
                -- Job control, NULL for plain jobs:
                options           TEXT,                       -- JobOptions as JSON (JobOptions.storedText)
                tags              TEXT[],
                unique_key        TEXT,
                depends_on        TEXT[],                     -- fixed at enqueue
                requeued_from     TEXT,
                cancel_requested  BOOLEAN NOT NULL DEFAULT FALSE
            )
            """,
            // What claims read: only due jobs, in claim order (see JobState).
            "CREATE INDEX jobs_ready ON \(s).jobs (queue, priority DESC, run_at, seq) WHERE state = 'pending'",
            // Jobs waiting for their run_at (scheduled, or failed with a retry ahead),
            // by time: promotion and an idle worker's next wake-up read its first entries.
            "CREATE INDEX jobs_due ON \(s).jobs (run_at) WHERE state IN ('scheduled', 'failed')",
            // Lists by state. Completed jobs, the bulk of the table, are read in seq
            // order from the primary key instead: a finish then costs no index move
            // into the biggest region.
            "CREATE INDEX jobs_state ON \(s).jobs (state, seq) WHERE state <> 'completed'",
            """
            CREATE UNIQUE INDEX jobs_unique_key ON \(s).jobs (unique_key)
            WHERE unique_key IS NOT NULL AND state NOT IN ('completed', 'dead', 'cancelled')
            """,

            // One row per edge, keyed by the job depended on: a job's end finds its
            // dependents with one index range.
            """
            CREATE TABLE \(s).job_dependencies (
                depends_on  TEXT NOT NULL,
                job_id      TEXT NOT NULL,
                PRIMARY KEY (depends_on, job_id)
            )
            """,

            // One row per run: the job's history.
            """
            CREATE TABLE \(s).runs (
                id            BIGSERIAL PRIMARY KEY,
                job_id        TEXT NOT NULL,
                attempt       INTEGER NOT NULL,
                worker_id     TEXT NOT NULL,
                host          TEXT,                 -- where it ran: recovery signals only its own host's runs
                queued_at     BIGINT NOT NULL,      -- when the job became eligible
                started_at    BIGINT NOT NULL,
                finished_at   BIGINT,
                outcome       TEXT,
                exit_code     INTEGER,
                signal        INTEGER,
                pid           INTEGER,
                pid_start     BIGINT,
                error         TEXT,
                output_bytes  BIGINT,               -- output produced (stored up to output-limit)
                output_lost   TEXT                  -- why output is missing, if it is
            )
            """,
            "CREATE INDEX runs_job ON \(s).runs (job_id, id)",
            "CREATE INDEX runs_finished ON \(s).runs (finished_at) WHERE finished_at IS NOT NULL",
            // A run's output, in the chunks it was written in (offset: bytes before
            // the chunk). Appending a row costs the chunk; rewriting one BYTEA per
            // run would cost the whole output so far at every append. A follower
            // reads the chunks past the offset it has.
            """
            CREATE TABLE \(s).run_output (
                run_id    BIGINT NOT NULL REFERENCES \(s).runs (id) ON DELETE CASCADE,
                "offset"  BIGINT NOT NULL,
                chunk     BYTEA NOT NULL,
                PRIMARY KEY (run_id, "offset")
            )
            """,

            """
            CREATE TABLE \(s).workers (
                id              TEXT PRIMARY KEY,
                pid             INTEGER NOT NULL,
                pid_start       BIGINT NOT NULL,
                host            TEXT NOT NULL,
                started_at      BIGINT NOT NULL,
                heartbeat_at    BIGINT NOT NULL,     -- the database's clock (queuectl_now_ms)
                jobs_done       INTEGER NOT NULL DEFAULT 0,
                stop_requested  BOOLEAN NOT NULL DEFAULT FALSE,
                queues          TEXT[]               -- the queues it serves; NULL: every queue
            )
            """,
            // `worker stop` (of every worker) counts up `generation`; a worker started
            // before the count went up registers only if it is still the same.
            """
            CREATE TABLE \(s).worker_stops (
                id          INTEGER PRIMARY KEY CHECK (id = 1),
                generation  BIGINT NOT NULL
            )
            """,
            "INSERT INTO \(s).worker_stops (id, generation) VALUES (1, 0)",

            "CREATE TABLE \(s).config (key TEXT PRIMARY KEY, value DOUBLE PRECISION)",

            """
            CREATE TABLE \(s).queues (
                name         TEXT PRIMARY KEY,
                concurrency  INTEGER,                        -- most jobs processing at once; NULL: no limit
                paused       BOOLEAN NOT NULL DEFAULT FALSE,
                served       BIGINT NOT NULL DEFAULT 0       -- turn of its last claim: the lowest goes next
            )
            """,
            "INSERT INTO \(s).queues (name) VALUES ('default')",

            """
            CREATE TABLE \(s).schedules (
                name           TEXT PRIMARY KEY,
                cron           TEXT,                 -- a cron expression, or NULL for an interval
                time_zone      TEXT,
                every_seconds  DOUBLE PRECISION,
                job            TEXT NOT NULL,        -- the job as JSON
                paused         BOOLEAN NOT NULL DEFAULT FALSE,
                next_at        BIGINT NOT NULL,
                last_fired_at  BIGINT,
                catch_up_all   BOOLEAN NOT NULL DEFAULT FALSE
            )
            """,
            "CREATE INDEX schedules_due ON \(s).schedules (next_at) WHERE NOT paused",

            // State changes that leave no other row (see QueueEvent).
            """
            CREATE TABLE \(s).events (
                id       BIGSERIAL PRIMARY KEY,
                at       BIGINT NOT NULL,
                job_id   TEXT NOT NULL,
                kind     TEXT NOT NULL,
                attempt  INTEGER,
                detail   TEXT
            )
            """,
            "CREATE INDEX events_job ON \(s).events (job_id)",

            // Jobs per queue and state, in shards (see countShards): `status` sums a
            // few hundred rows at most, whatever the number of jobs.
            """
            CREATE TABLE \(s).job_counts (
                queue  TEXT NOT NULL,
                state  TEXT NOT NULL,
                shard  SMALLINT NOT NULL,
                n      BIGINT NOT NULL,
                PRIMARY KEY (queue, state, shard)
            )
            """,
            // Per statement, not per row: a batch of 10,000 inserts updates a count
            // row or two once. Rows are upserted in key order, so two transactions
            // that share a shard take the row locks in the same order.
            """
            CREATE FUNCTION \(s).jobs_counted_insert() RETURNS TRIGGER LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO \(s).job_counts AS c (queue, state, shard, n)
                SELECT queue, state, \(s).queuectl_shard(), count(*) FROM inserted GROUP BY queue, state ORDER BY queue, state
                ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n;
                IF EXISTS (SELECT 1 FROM inserted WHERE state = 'pending') THEN
                    PERFORM \(s).queuectl_wake();
                END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER jobs_counted_insert AFTER INSERT ON \(s).jobs
            REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION \(s).jobs_counted_insert()
            """,
            // Each updated row counts -1 in its old (queue, state) and +1 in its new
            // one; rows whose state did not change cancel out.
            """
            CREATE FUNCTION \(s).jobs_counted_update() RETURNS TRIGGER LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO \(s).job_counts AS c (queue, state, shard, n)
                SELECT queue, state, \(s).queuectl_shard(), sum(delta) FROM (
                    SELECT queue, state, -1 AS delta FROM old_rows
                    UNION ALL
                    SELECT queue, state, 1 FROM new_rows
                ) AS changes
                GROUP BY queue, state HAVING sum(delta) <> 0 ORDER BY queue, state
                ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n;
                IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.seq = n.seq
                           WHERE n.state = 'pending' AND o.state <> 'pending') THEN
                    PERFORM \(s).queuectl_wake();
                END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER jobs_counted_update AFTER UPDATE ON \(s).jobs
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION \(s).jobs_counted_update()
            """,
            """
            CREATE FUNCTION \(s).jobs_counted_delete() RETURNS TRIGGER LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO \(s).job_counts AS c (queue, state, shard, n)
                SELECT queue, state, \(s).queuectl_shard(), -count(*) FROM deleted GROUP BY queue, state ORDER BY queue, state
                ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER jobs_counted_delete AFTER DELETE ON \(s).jobs
            REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION \(s).jobs_counted_delete()
            """,

            // Finished runs per outcome and duration bucket (le_ms: the smallest
            // bound the duration fits under, -1 over the last), in shards, kept as
            // each run finishes so `metrics` never scans the history. True counters:
            // deleting old runs leaves them as they are.
            """
            CREATE TABLE \(s).run_totals (
                outcome  TEXT NOT NULL,
                le_ms    BIGINT NOT NULL,
                shard    SMALLINT NOT NULL,
                n        BIGINT NOT NULL,
                sum_ms   BIGINT NOT NULL,
                PRIMARY KEY (outcome, le_ms, shard)
            )
            """,
            """
            CREATE FUNCTION \(s).runs_totalled() RETURNS TRIGGER LANGUAGE plpgsql AS $$
            DECLARE d BIGINT := greatest(0, NEW.finished_at - NEW.started_at);
            BEGIN
                INSERT INTO \(s).run_totals AS t (outcome, le_ms, shard, n, sum_ms)
                VALUES (coalesce(NEW.outcome, ''), \(bucket), \(s).queuectl_shard(), 1, d)
                ON CONFLICT (outcome, le_ms, shard) DO UPDATE SET n = t.n + 1, sum_ms = t.sum_ms + excluded.sum_ms;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER runs_totalled_finish AFTER UPDATE OF finished_at ON \(s).runs FOR EACH ROW
            WHEN (OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL) EXECUTE FUNCTION \(s).runs_totalled()
            """,
            """
            CREATE TRIGGER runs_totalled_insert AFTER INSERT ON \(s).runs FOR EACH ROW
            WHEN (NEW.finished_at IS NOT NULL) EXECUTE FUNCTION \(s).runs_totalled()
            """,
        ]
    }
}
