import QueueCore
import GRDB
import GRDBSQLite

extension SQLiteJobStore {
    /// The queue's figures for monitoring (`queuectl metrics`).
    ///
    /// Job and worker counts are the same reads as `status`; the run figures and
    /// the queue latency are one read transaction. None grows with the tables:
    /// job counts and run totals are kept by triggers, and the latency is one index
    /// seek per distinct priority.
    public func metrics(now: Timestamp) throws -> QueueMetrics {
        let jobs = try counts()
        var workersByState = Dictionary(uniqueKeysWithValues: WorkerState.allCases.map { ($0, 0) })
        for worker in try workers() { workersByState[worker.state, default: 0] += 1 }
        return try read { db in
            let (runs, histogram) = try Self.runFigures(db)
            let oldest = try Self.oldestWaitingRunAt(db, now: now)
            let latency = oldest.map { max(0, now.milliseconds - $0) } ?? 0
            return QueueMetrics(jobs: jobs, runs: runs, runDuration: histogram,
                                queueLatencyMilliseconds: latency, workers: workersByState)
        }
    }

    /// Finished runs by outcome and the histogram of their durations, read from
    /// `run_totals` (a few dozen rows whatever the size of the history; see
    /// `registerRunTotals`).
    static func runFigures(_ db: Database) throws -> ([RunOutcome: Int], DurationHistogram) {
        let bounds = runDurationBoundsMilliseconds
        var runs = Dictionary(uniqueKeysWithValues: RunOutcome.allCases.map { ($0, 0) })
        var perBucket = Array(repeating: 0, count: bounds.count)
        var count = 0
        var sum: Int64 = 0
        for row in try Row.fetchAll(db, sql: "SELECT outcome, le_ms, n, sum_ms FROM run_totals") {
            let outcomeText: String = row[0]
            let upperBound: Int64 = row[1]
            let n: Int = row[2]
            if let outcome = RunOutcome(rawValue: outcomeText) { runs[outcome, default: 0] += n }
            count += n
            sum += row[3]
            if let index = bounds.firstIndex(of: upperBound) { perBucket[index] += n }
        }
        var cumulative = 0
        let buckets = zip(bounds, perBucket).map { bound, n in
            cumulative += n
            return (upperBoundMilliseconds: bound, cumulativeCount: cumulative)
        }
        return (runs, DurationHistogram(buckets: buckets, count: count, sumMilliseconds: sum))
    }

    /// The earliest `run_at` among jobs that are due and wait for a worker, in ms;
    /// nil when none waits. Due jobs are `pending` ones (read per queue with the
    /// same seeks as `queue list`'s latency) and jobs whose time came while no
    /// claim has moved them to `pending` yet (the first entry of `jobs_due`, when
    /// it is not in the future): with no worker running, those wait too.
    static func oldestWaitingRunAt(_ db: Database, now: Timestamp) throws -> Int64? {
        var oldest: Int64?
        for queue in try String.fetchAll(db, sql: "SELECT name FROM queues") {
            if let runAt = try Int64.fetchOne(db, sql: oldestDueSQL, arguments: [queue]) {
                oldest = min(oldest ?? runAt, runAt)
            }
        }
        if let runAt = try Int64.fetchOne(db, sql: firstDueSQL), runAt <= now.milliseconds {
            oldest = min(oldest ?? runAt, runAt)
        }
        return oldest
    }

    static let firstDueSQL = "SELECT run_at FROM jobs INDEXED BY jobs_due WHERE \(dueCondition) ORDER BY run_at LIMIT 1"

    /// The SQLite library queuectl runs on (`queuectl version --json`).
    public static var engineVersion: String { String(cString: sqlite3_libversion()) }
}

extension SQLiteJobStore {
    /// Upper bounds of the run-duration histogram's buckets, from 5 ms (a `true`
    /// job) to an hour, about 2.5× apart. Frozen in the "v4-run-totals" migration's
    /// trigger: other bounds need a new migration that rebuilds `run_totals`.
    static let runDurationBoundsMilliseconds: [Int64] = [
        5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000,
    ]

    /// "v4-run-totals": runs by outcome and duration bucket, kept by trigger as
    /// each run finishes, so `queuectl metrics` reads a few dozen rows instead of
    /// scanning the history (a scan of 1M runs took 0.8-2.7 s on a 2-core VM; an
    /// index on the durations would cost every finished job a page write, where
    /// this costs one small upsert into a hot page). The totals are true counters:
    /// deleting old runs leaves them as they are. Runs already finished are counted
    /// once, when the migration runs.
    static func registerRunTotals(_ migrator: inout DatabaseMigrator) {
        // Literal bounds: a shipped migration must never change with the constant.
        let duration = "max(0, NEW.finished_at - NEW.started_at)"
        func bucket(_ d: String) -> String {
            let bounds: [Int64] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000]
            return "CASE " + bounds.map { "WHEN \(d) <= \($0) THEN \($0)" }.joined(separator: " ") + " ELSE -1 END"
        }
        let upsert = """
            INSERT INTO run_totals (outcome, le_ms, n, sum_ms)
            VALUES (coalesce(NEW.outcome, ''), \(bucket(duration)), 1, \(duration))
            ON CONFLICT (outcome, le_ms) DO UPDATE SET n = n + 1, sum_ms = sum_ms + excluded.sum_ms;
            """
        let backfillBucket = bucket("d")
        migrator.registerMigration("v4-run-totals") { db in
            try db.execute(sql: """
                -- Finished runs per outcome and duration bucket: le_ms is the smallest
                -- bound the duration fits under (-1: over the last bound).
                CREATE TABLE run_totals (
                    outcome  TEXT NOT NULL,
                    le_ms    INTEGER NOT NULL,
                    n        INTEGER NOT NULL,
                    sum_ms   INTEGER NOT NULL,
                    PRIMARY KEY (outcome, le_ms)
                ) WITHOUT ROWID;
                CREATE TRIGGER runs_total_finish AFTER UPDATE OF finished_at ON runs
                WHEN OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL BEGIN
                    \(upsert)
                END;
                CREATE TRIGGER runs_total_insert AFTER INSERT ON runs WHEN NEW.finished_at IS NOT NULL BEGIN
                    \(upsert)
                END;
                INSERT INTO run_totals (outcome, le_ms, n, sum_ms)
                SELECT coalesce(outcome, ''), \(backfillBucket), count(*), sum(d)
                FROM (SELECT outcome, max(0, finished_at - started_at) AS d FROM runs WHERE +finished_at IS NOT NULL)
                GROUP BY 1, 2;
                """)
        }
    }
}
