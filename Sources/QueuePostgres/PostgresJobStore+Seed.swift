import PostgresNIO
import QueueCore

/// Big tables made in one statement each, for `queuectl bench --scale` and the
/// tests of reads at scale. Never used on a user's queue: only on scratch schemas.
/// The count triggers keep `job_counts` right, as for any insert.
///
/// Each table is vacuumed (and analyzed) right after it is filled, as autovacuum
/// would do within its next minute: otherwise that vacuum of a million new rows
/// lands in the middle of the timings that follow, and they measure it.
extension PostgresJobStore {
    /// Fills the table with `count` jobs (one in `pendingEvery` pending, the rest
    /// completed) in one `INSERT … SELECT generate_series`.
    public func seedForBenchmark(count: Int, pendingEvery: Int, now: Timestamp) throws {
        let at = now.milliseconds - 1000
        try session.execute("""
            INSERT INTO jobs (id, command, state, attempts, max_retries, priority, run_at, created_at, updated_at)
            SELECT 'seed-' || lpad(x::TEXT, 8, '0'), 'true',
                   CASE WHEN x % \(pendingEvery) = 0 THEN 'pending' ELSE 'completed' END,
                   CASE WHEN x % \(pendingEvery) = 0 THEN 0 ELSE 1 END, 3, 0, \(at), \(at), \(at)
            FROM generate_series(1, \(count)) AS x
            """)
        try session.execute("VACUUM (ANALYZE) jobs")
    }

    /// Fills the table with `future` jobs waiting for a time a day ahead (one in ten
    /// a retry waiting for its backoff; priorities 0 to 4) and `completed` finished
    /// ones, for the `--scale` backlog phase.
    public func seedBacklogForBenchmark(future: Int, completed: Int, now: Timestamp) throws {
        let later = now.milliseconds + 86_400_000
        let at = now.milliseconds - 1000
        try session.transaction {
            try session.execute("""
                INSERT INTO jobs (id, command, state, attempts, max_retries, priority, run_at, created_at, updated_at)
                SELECT 'done-' || lpad(x::TEXT, 8, '0'), 'true', 'completed', 1, 3, 0, \(at), \(at), \(at)
                FROM generate_series(1, \(completed)) AS x
                """)
            try session.execute("""
                INSERT INTO jobs (id, command, state, attempts, max_retries, priority, run_at, created_at, updated_at)
                SELECT 'later-' || lpad(x::TEXT, 8, '0'), 'true', CASE WHEN x % 10 = 0 THEN 'failed' ELSE 'scheduled' END,
                       CASE WHEN x % 10 = 0 THEN 1 ELSE 0 END, 3, x % 5, \(later) + x, \(now.milliseconds), \(now.milliseconds)
                FROM generate_series(1, \(future)) AS x
                """)
        }
        try session.execute("VACUUM (ANALYZE) jobs")
    }
}

extension PostgresJobStore: BenchmarkSeeding {
    /// "PostgreSQL 15.18, synchronous_commit=on": the server and the setting that
    /// decides what a commit waits for.
    public func benchmarkDescription() throws -> String {
        let row = try session.query("SELECT current_setting('server_version'), current_setting('synchronous_commit')").first
        let (version, synchronousCommit) = try row?.decode((String, String).self) ?? ("?", "?")
        return "PostgreSQL \(version.split(separator: " ").first ?? "?"), synchronous_commit=\(synchronousCommit)"
    }
}
