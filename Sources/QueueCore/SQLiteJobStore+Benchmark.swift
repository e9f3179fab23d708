import GRDB

extension SQLiteJobStore {
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
            try db.execute(sql: """
                UPDATE job_counts SET n = n + CASE state WHEN 'pending' THEN ?1 / ?2 ELSE ?1 - ?1 / ?2 END
                WHERE state IN ('pending', 'completed')
                """, arguments: [count, pendingEvery])
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
}
