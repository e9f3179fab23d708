import QueueCore
import GRDB

extension SQLiteJobStore {
    /// Migration "v4-scheduled-state": keeps work that is not due out of the claim's
    /// way (see `JobState` for the rule). `jobs_ready` holds only `pending` (due)
    /// jobs and `jobs_due` the ones waiting for a time, ordered by it: a claim
    /// promotes the due ones with one seek, never walks future work, and an idle
    /// worker's next wake-up is the first entry. Jobs of the hot path (enqueued due,
    /// claimed, finished) never enter `jobs_due`, so they cost no extra page write.
    static func migrateToScheduledState(_ db: Database) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO job_counts(state, n) VALUES ('scheduled', 0)")
        // Pending jobs whose time has not come wait as `scheduled` (the count
        // trigger moves them between the counts).
        try db.execute(sql: "UPDATE jobs SET state = 'scheduled' WHERE state = 'pending' AND state <> 'completed' AND run_at > ?",
                       arguments: [Timestamp.now().milliseconds])
        try db.execute(sql: """
            DROP INDEX jobs_ready;
            CREATE INDEX jobs_ready ON jobs(priority DESC, run_at, seq) WHERE state = 'pending';
            CREATE INDEX jobs_due ON jobs(run_at) WHERE state IN ('scheduled', 'failed');
            """)
    }

    /// Most jobs one transaction promotes from waiting for a time to `pending`: a
    /// burst of jobs due at the same moment is promoted over several claims (the
    /// earliest `run_at` first) instead of holding the write lock for all of them.
    static let promotionBatch = 200

    /// Makes due the jobs whose `run_at` has come (at most ``promotionBatch``): one
    /// seek into `jobs_due` when none has.
    static func promoteDueJobs(_ db: Database, now: Timestamp) throws {
        try BoundStatement(db, sql: """
            UPDATE jobs SET state = 'pending'
            WHERE seq IN (SELECT seq FROM jobs INDEXED BY jobs_due WHERE \(Self.dueCondition) AND run_at <= ?
                          ORDER BY run_at LIMIT \(Self.promotionBatch))
            """).run([.int(now.milliseconds)])
    }

    /// The earliest `run_at` among jobs waiting for a time (the first entry of
    /// `jobs_due`) or the next tick of a schedule, so an idle worker knows when to
    /// look again. nil: nothing waits for a time.
    public func nextRunAt() throws -> Timestamp? {
        try read { db in
            let job = try Int64.fetchOne(db.cachedStatement(sql: """
                SELECT run_at FROM jobs INDEXED BY jobs_due WHERE \(Self.dueCondition) ORDER BY run_at LIMIT 1
                """)).map(Timestamp.init(milliseconds:))
            let tick = try Self.nextScheduleTick(db)
            return [job, tick].compactMap { $0 }.min()
        }
    }
}
