import QueueCore
import GRDB

extension SQLiteJobStore {
    /// The schema, as named migrations applied in order (never edit a shipped one;
    /// add a new one).
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE jobs (
                    seq          INTEGER PRIMARY KEY,   -- insertion order: FIFO tie-break
                    id           TEXT NOT NULL UNIQUE,
                    command      TEXT NOT NULL,
                    state        TEXT NOT NULL,
                    attempts     INTEGER NOT NULL DEFAULT 0,
                    max_retries  INTEGER NOT NULL,
                    priority     INTEGER NOT NULL DEFAULT 0,
                    run_at       INTEGER NOT NULL,      -- ms since epoch
                    timeout      REAL,
                    created_at   INTEGER NOT NULL,
                    updated_at   INTEGER NOT NULL,
                    last_error   TEXT,
                    exit_code    INTEGER,
                    worker_id    TEXT
                );
                -- What claims read: only waiting jobs, in claim order.
                CREATE INDEX jobs_ready ON jobs(priority DESC, run_at, seq) WHERE state IN ('pending', 'failed');
                -- Lists by state. (Each index costs a page write per job, so there are
                -- only these two: a worker's jobs are found through jobs_state.)
                CREATE INDEX jobs_state ON jobs(state, seq);

                -- Counts per state, so status is O(1) at any size. State changes keep
                -- them by trigger; inserts add to them once per batch (see enqueue),
                -- because a trigger would run once per row of a big batch.
                CREATE TABLE job_counts (state TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO job_counts(state, n) VALUES ('pending', 0), ('processing', 0), ('completed', 0), ('failed', 0), ('dead', 0);
                CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN
                    UPDATE job_counts SET n = n - 1 WHERE state = OLD.state;
                END;
                CREATE TRIGGER jobs_count_update AFTER UPDATE OF state ON jobs WHEN OLD.state <> NEW.state BEGIN
                    UPDATE job_counts SET n = n - 1 WHERE state = OLD.state;
                    UPDATE job_counts SET n = n + 1 WHERE state = NEW.state;
                END;

                -- One row per run: the job's history.
                CREATE TABLE runs (
                    id            INTEGER PRIMARY KEY,
                    job_id        TEXT NOT NULL,
                    attempt       INTEGER NOT NULL,
                    worker_id     TEXT NOT NULL,
                    queued_at     INTEGER NOT NULL,     -- when the job became eligible
                    started_at    INTEGER NOT NULL,
                    finished_at   INTEGER,
                    outcome       TEXT,
                    exit_code     INTEGER,
                    signal        INTEGER,
                    pid           INTEGER,
                    pid_start     INTEGER,
                    error         TEXT,
                    output_bytes  INTEGER
                );
                CREATE INDEX runs_job ON runs(job_id, id);
                CREATE INDEX runs_finished ON runs(finished_at) WHERE finished_at IS NOT NULL;

                CREATE TABLE workers (
                    id              TEXT PRIMARY KEY,
                    pid             INTEGER NOT NULL,
                    pid_start       INTEGER NOT NULL,
                    host            TEXT NOT NULL,
                    state           TEXT NOT NULL,
                    job_id          TEXT,
                    job_started_at  INTEGER,
                    started_at      INTEGER NOT NULL,
                    heartbeat_at    INTEGER NOT NULL,
                    jobs_done       INTEGER NOT NULL DEFAULT 0,
                    stop_requested  INTEGER NOT NULL DEFAULT 0
                ) WITHOUT ROWID;

                CREATE TABLE config (key TEXT PRIMARY KEY, value REAL) WITHOUT ROWID;
                """)
        }
        // A job's two state changes (claim, finish) rewrite only the pages they
        // must: the list index leaves completed jobs out (a finish no longer moves
        // an entry into the biggest region of the index), and worker rows are no
        // longer written per job (see `workers()`).
        migrator.registerMigration("v2-lean-state-changes") { db in
            try db.execute(sql: """
                DROP INDEX jobs_state;
                CREATE INDEX jobs_state ON jobs(state, seq) WHERE state IN ('pending', 'processing', 'failed', 'dead');
                """)
        }
        // SQLite checks a partial index's WHERE on every write to the row, and
        // codes an IN list of more than two values as a temporary B-tree built
        // afresh each time the statement runs: every insert, claim and result paid
        // for opening one (about 38,000 instructions per inserted job, measured
        // with callgrind). `<>` is a single comparison.
        migrator.registerMigration("v3-partial-index-without-in-list") { db in
            try db.execute(sql: """
                DROP INDEX jobs_state;
                CREATE INDEX jobs_state ON jobs(state, seq) WHERE state <> 'completed';
                """)
        }
        // Why a run's output is missing from its log (folder not writable, disk
        // full), so `show` and `logs` say so instead of showing nothing.
        migrator.registerMigration("v4-output-lost") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN output_lost TEXT")
        }
        // `worker stop` (of every worker) counts up `generation`; a worker started
        // before the count went up registers only if it is still the same, so a
        // stop also reaches workers that were still starting.
        migrator.registerMigration("v4-worker-stop-generation") { db in
            try db.execute(sql: """
                CREATE TABLE worker_stops (id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL);
                INSERT INTO worker_stops (id, generation) VALUES (1, 0);
                """)
        }
        migrator.registerMigration("v4-scheduled-state", migrate: migrateToScheduledState)
        migrator.registerMigration("v5-named-queues", migrate: migrateToNamedQueues)
        migrator.registerMigration("v6-schedules", migrate: migrateToSchedules)
        // The queues a worker serves (NULL: every queue), for `worker list` and the console.
        migrator.registerMigration("v7-worker-queues") { db in
            try db.execute(sql: "ALTER TABLE workers ADD COLUMN queues TEXT")
        }
        registerRunTotals(&migrator)
        migrator.registerMigration("v8-job-control") { db in try Self.migrateJobControl(db) }
        // Runs per minute by outcome (the dashboard's and the console's chart,
        // `stats`) read only this index: with `outcome` in it, a window of 37,000
        // recent runs is one range of index entries instead of 37,000 row reads.
        // It replaces the index on `finished_at` alone (every reader of that one
        // reads a prefix of this one), so a finished run still writes one entry.
        migrator.registerMigration("v9-runs-finished-outcome") { db in
            try db.execute(sql: """
                DROP INDEX runs_finished;
                CREATE INDEX runs_finished ON runs(finished_at, outcome) WHERE finished_at IS NOT NULL;
                """)
        }
        return migrator
    }
}

extension SQLiteJobStore {
    /// WHERE terms for reading due jobs through `jobs_ready` (claims, the monitor's
    /// claim-order list). The first term repeats the index's WHERE, without which
    /// SQLite does not use a partial index. The second re-checks each entry's row:
    /// SQLite trusts a partial index to hold only matching rows, so an entry left
    /// stale by a damaged index would otherwise be returned to every claim, and the
    /// same job claimed again and again while the jobs behind it wait (seen once in
    /// a soak run; see the README's known limits). Because the index's WHERE is an
    /// equality, SQLite reads `state` of a row found through it as that constant
    /// (`+state` would not be looked up), so the check reads the row by its key
    /// under another name: one primary-key seek per entry read, and a claim reads
    /// one entry.
    static let readyCondition = "state = 'pending' AND (SELECT row.state FROM jobs AS row WHERE row.seq = jobs.seq) = 'pending'"

    /// WHERE terms for reading jobs waiting for their `run_at` through `jobs_due`
    /// (promotion and the next wake-up time), with the same re-check of each row.
    static let dueCondition = "state IN ('scheduled', 'failed') AND +state IN ('scheduled', 'failed')"
}

extension JobState {
    /// WHERE terms selecting jobs in this state through the cheapest path.
    /// `jobs_state` indexes every state but `completed` (the one most rows end in),
    /// and SQLite uses a partial index only when the query repeats its WHERE;
    /// completed jobs are read from the table in `seq` order, where they are the
    /// common case. `table` qualifies the column in a join.
    func selectionCondition(table: String? = nil) -> String {
        let column = table.map { "\($0).state" } ?? "state"
        if self == .completed { return "\(column) = 'completed'" }
        return "\(column) = '\(rawValue)' AND \(column) <> 'completed'"
    }
}

extension Job {
    /// Columns in the order `init(columns:)` reads them.
    static let columns = "id, command, state, attempts, max_retries, priority, run_at, timeout, created_at, updated_at, last_error, exit_code, worker_id, queue, options, tags, unique_key, depends_on, requeued_from, cancel_requested"

    init(row: Row) throws { try self.init(columns: row) }

    /// Reads `Job.columns` from a GRDB row or from a row being stepped through the
    /// C API (the claim's RETURNING).
    init(columns row: some ColumnReader) throws {
        let stateText = row.text(2)
        guard let state = JobState(rawValue: stateText) else {
            throw QueueError.runtime("database holds an unknown job state '\(stateText)'")
        }
        self.init(
            id: row.text(0), command: row.text(1), state: state, attempts: row.int(3), maxRetries: row.int(4),
            priority: row.int(5), runAt: Timestamp(milliseconds: row.int64(6)), timeout: row.optionalDouble(7),
            createdAt: Timestamp(milliseconds: row.int64(8)), updatedAt: Timestamp(milliseconds: row.int64(9)),
            lastError: row.optionalText(10), exitCode: row.optionalInt(11), workerID: row.optionalText(12),
            queue: row.text(13))
        // Job-control columns (v8-job-control), NULL for plain jobs.
        if let text = row.optionalText(14) { options = JobOptions(storedText: text) }
        if let text = row.optionalText(15) { tags = Self.storedStrings(text) }
        uniqueKey = row.optionalText(16)
        if let text = row.optionalText(17) { dependsOn = Self.storedStrings(text) }
        requeuedFrom = row.optionalText(18)
        cancelRequested = (row.optionalInt(19) ?? 0) != 0
    }

    /// A JSON array of strings as stored in `tags` and `depends_on`.
    static func storedStrings(_ text: String) -> [String] {
        guard case let .array(items)? = try? JSONValue.parse(text) else { return [] }
        return items.compactMap { if case let .string(s) = $0 { return s } else { return nil } }
    }

    static func storedText(_ strings: [String]) -> String? {
        strings.isEmpty ? nil : JSONValue.array(strings.map(JSONValue.string)).serialized()
    }
}

extension RunRecord {
    static let columns = "id, job_id, attempt, worker_id, started_at, finished_at, outcome, exit_code, signal, pid, pid_start, error, output_bytes, output_lost"

    init(row: Row) {
        let finished: Int64? = row[5]
        let outcome: String? = row[6]
        self.init(
            id: row[0], jobID: row[1], attempt: row[2], workerID: row[3], startedAt: Timestamp(milliseconds: row[4]),
            finishedAt: finished.map(Timestamp.init(milliseconds:)), outcome: outcome.flatMap(RunOutcome.init(rawValue:)),
            exitCode: row[7], signal: row[8], pid: row[9], pidStartTicks: row[10], error: row[11], outputBytes: row[12],
            outputLost: row[13])
    }
}

extension WorkerRecord {
    /// Columns in the order `init(columns:)` reads them. from `workers w LEFT JOIN jobs j`
    /// on the job the worker holds: since v2 its state and current job are derived
    /// from that job (the row's own `state`, `job_id` and `job_started_at` columns are
    /// no longer written; they stay so workers of an older version keep working
    /// during an upgrade). A worker asked to stop is `stopping` while it finishes its
    /// job (which it still shows), so nobody asks it again.
    static let columns = """
        w.id, w.pid, w.pid_start, w.host,
        CASE WHEN w.stop_requested THEN 'stopping' WHEN j.id IS NOT NULL THEN 'busy' ELSE 'idle' END,
        j.id, j.updated_at, w.started_at, w.heartbeat_at, w.jobs_done, w.stop_requested, w.queues
        """

    init(row: Row) {
        let jobStarted: Int64? = row[6]
        let state: String = row[4]
        self.init(
            id: row[0], pid: row[1], pidStartTicks: row[2], hostname: row[3], state: WorkerState(rawValue: state) ?? .idle,
            jobID: row[5], jobStartedAt: jobStarted.map(Timestamp.init(milliseconds:)),
            startedAt: Timestamp(milliseconds: row[7]), heartbeatAt: Timestamp(milliseconds: row[8]),
            jobsDone: row[9], stopRequested: row[10], queues: (row[11] as String?).map { $0.split(separator: ",").map(String.init) })
    }
}
