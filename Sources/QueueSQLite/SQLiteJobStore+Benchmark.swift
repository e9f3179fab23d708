import QueueCore
import GRDB

extension SQLiteJobStore: BenchmarkSeeding {
    /// Fills the table with `count` jobs (one in `pendingEvery` pending, the rest
    /// completed) in one statement, for `queuectl bench --scale`. Never used on a
    /// user's database: the bench only opens scratch files.
    public func seedForBenchmark(count: Int, pendingEvery: Int, now: Timestamp) throws {
        try write { db in
            try db.execute(sql: """
                WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
                INSERT INTO jobs (id, command, state, attempts, max_retries, priority, run_at, created_at, updated_at)
                SELECT printf('seed-%08d', x), 'true', CASE WHEN x % ? = 0 THEN 'pending' ELSE 'completed' END,
                       CASE WHEN x % ? = 0 THEN 0 ELSE 1 END, 3, 0, ? - 1000, ? - 1000, ? - 1000 FROM n
                """, arguments: [count, pendingEvery, pendingEvery, now.milliseconds, now.milliseconds, now.milliseconds])
            try Self.addToCount(db, queue: QueueName.defaultName, state: .pending, count / pendingEvery)
            try Self.addToCount(db, queue: QueueName.defaultName, state: .completed, count - count / pendingEvery)
        }
    }

    /// Fills the table with `future` jobs waiting for a time a day ahead (one in ten a
    /// retry waiting for its backoff; priorities 0 to 4) and `completed` finished
    /// ones, for the `--scale` backlog phase. Scratch databases only.
    public func seedBacklogForBenchmark(future: Int, completed: Int, now: Timestamp) throws {
        let later = now.milliseconds + 86_400_000
        try write { db in
            try db.execute(sql: """
                WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
                INSERT INTO jobs (id, command, state, attempts, max_retries, priority, run_at, created_at, updated_at)
                SELECT printf('done-%08d', x), 'true', 'completed', 1, 3, 0, ?2 - 1000, ?2 - 1000, ?2 - 1000 FROM n
                """, arguments: [completed, now.milliseconds])
            try db.execute(sql: """
                WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
                INSERT INTO jobs (id, command, state, attempts, max_retries, priority, run_at, created_at, updated_at)
                SELECT printf('later-%08d', x), 'true', CASE WHEN x % 10 = 0 THEN 'failed' ELSE 'scheduled' END,
                       CASE WHEN x % 10 = 0 THEN 1 ELSE 0 END, 3, x % 5, ?2 + x, ?3, ?3 FROM n
                """, arguments: [future, later, now.milliseconds])
            try Self.addToCount(db, queue: QueueName.defaultName, state: .completed, completed)
            try Self.addToCount(db, queue: QueueName.defaultName, state: .failed, future / 10)
            try Self.addToCount(db, queue: QueueName.defaultName, state: .scheduled, future - future / 10)
        }
    }

    /// SQLite's version and the journal/synchronous modes of this connection.
    /// When the last run ended (`runs_finished` answers it with one seek): the bench
    /// times a drain to this instead of to the moment its polling noticed.
    public func lastRunFinishedAt() throws -> Timestamp? {
        try read { db in try Int64.fetchOne(db, sql: "SELECT max(finished_at) FROM runs").map(Timestamp.init(milliseconds:)) }
    }

    public func engineDescription() throws -> (version: String, journalMode: String, synchronous: Int) {
        try read { db in
            (try String.fetchOne(db, sql: "SELECT sqlite_version()") ?? "?",
             try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "?",
             try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1)
        }
    }

    public func benchmarkDescription() throws -> String {
        let engine = try engineDescription()
        return "SQLite \(engine.version), journal_mode=\(engine.journalMode)"
    }
}
