import PostgresNIO
import QueueCore

/// Statements that cancel, rerun and run endings share: events of many jobs at
/// once, and what a job's dead or cancelled end does to the jobs that depend on
/// it (a completed end is `settleDependents`, in +RunEnding). Each runs inside the
/// caller's transaction.
extension PostgresJobStore {
    /// Records the same change for many jobs; the detail is each job's
    /// `last_error` when `detail` is nil.
    func recordEvents(_ kind: String, jobIDs: [String], detail: String? = nil, now: Timestamp) throws {
        guard !jobIDs.isEmpty else { return }
        let s = address.quotedSchema
        try session.execute("""
            INSERT INTO \(unescaped: s).events (at, job_id, kind, detail)
            SELECT \(now.milliseconds), id, \(kind), coalesce(\(detail), last_error) FROM \(unescaped: s).jobs
            WHERE id = ANY(\(jobIDs)) ORDER BY seq
            """)
    }

    /// Cancels every blocked job downstream of `jobIDs` (which just ended dead or
    /// cancelled), the reason naming the job each one waited for, as
    /// ``Cancellation/dependencyReason(dependency:state:)`` words it. Returns the
    /// ids cancelled, oldest first.
    func cancelDependents(of jobIDs: [String], endedIn state: JobState, now: Timestamp) throws -> [String] {
        guard !jobIDs.isEmpty else { return [] }
        let s = address.quotedSchema
        let cancelled = try session.query("""
            WITH RECURSIVE doomed(id, cause, cause_state) AS (
                SELECT d.job_id, d.depends_on, \(state.rawValue)::text FROM \(unescaped: s).job_dependencies d
                WHERE d.depends_on = ANY(\(jobIDs))
                UNION
                SELECT d.job_id, doomed.id, 'cancelled'::text FROM doomed
                JOIN \(unescaped: s).job_dependencies d ON d.depends_on = doomed.id
            )
            UPDATE \(unescaped: s).jobs SET state = 'cancelled', updated_at = \(now.milliseconds),
                last_error = 'dependency ' || doomed.cause || ' ended ' || doomed.cause_state
            FROM doomed WHERE jobs.id = doomed.id AND jobs.state = 'blocked'
            RETURNING jobs.seq, jobs.id
            """).map { try $0.decode((Int64, String).self) }.sorted { $0.0 < $1.0 }.map(\.1)
        try recordEvents("cancelled", jobIDs: cancelled, now: now)
        return cancelled
    }
}
