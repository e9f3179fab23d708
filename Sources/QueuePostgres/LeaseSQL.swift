import PostgresNIO
import QueueCore

/// Statements the lease side of ``PostgresJobStore`` shares (claims, results,
/// recovery): events of run endings, and what a job's end does to the jobs that
/// depend on it. Every function runs inside the caller's
/// transaction on `session`; `s` is the quoted schema name.
enum LeaseSQL {
    /// Records the same change for many jobs; the detail is each job's
    /// `last_error` when `detail` is nil.
    static func recordEvents(_ session: PostgresSession, _ s: String, _ kind: String, jobIDs: [String], detail: String? = nil,
                             now: Timestamp) throws {
        guard !jobIDs.isEmpty else { return }
        try session.execute("""
            INSERT INTO \(unescaped: s).events (at, job_id, kind, detail)
            SELECT \(now.milliseconds), id, \(kind), coalesce(\(detail), last_error) FROM \(unescaped: s).jobs
            WHERE id = ANY(\(jobIDs)) ORDER BY seq
            """)
    }

    /// Records the change a run's end made, when it is not a plain completion.
    static func recordEnding(_ session: PostgresSession, _ s: String, jobID: String, attempt: Int, state: JobState,
                             retryAt: Timestamp?, error: String?, now: Timestamp) throws {
        guard let kind = QueueEvent.kind(endingIn: state) else { return }
        let detail = state == .failed ? retryAt.map { "retry at \($0.iso8601)" + (error.map { " after: \($0)" } ?? "") } : error
        try PostgresJobStore.recordEvent(session, kind, jobID: jobID, attempt: attempt, detail: detail, now: now)
    }

    /// What a job's final state does to the jobs that depend on it, in the same
    /// transaction (see `DependencyStart`): when it completed, each blocked
    /// dependent whose dependencies have all completed becomes pending (or
    /// scheduled, when its time is ahead); when it ended dead or cancelled, every
    /// blocked job downstream is cancelled. Returns whether any job was released.
    ///
    /// The dependents are locked first (in id order): two dependencies completing
    /// at once on two hosts then take turns, and the second sees the first's end,
    /// so a job waiting for both is never left blocked.
    @discardableResult
    static func settleDependents(_ session: PostgresSession, _ s: String, of jobID: String, endedIn state: JobState,
                                 now: Timestamp) throws -> Bool {
        switch state {
        case .completed:
            let locked = try session.query("""
                SELECT id FROM \(unescaped: s).jobs
                WHERE id IN (SELECT job_id FROM \(unescaped: s).job_dependencies WHERE depends_on = \(jobID)) AND state = 'blocked'
                ORDER BY id FOR UPDATE
                """)
            guard !locked.isEmpty else { return false }
            let released = try session.query("""
                UPDATE \(unescaped: s).jobs AS j
                SET state = CASE WHEN run_at > \(now.milliseconds) THEN 'scheduled' ELSE 'pending' END, updated_at = \(now.milliseconds)
                WHERE j.id IN (SELECT job_id FROM \(unescaped: s).job_dependencies WHERE depends_on = \(jobID))
                  AND j.state = 'blocked'
                  AND NOT EXISTS (SELECT 1 FROM unnest(j.depends_on) AS d(id) JOIN \(unescaped: s).jobs p ON p.id = d.id
                                  WHERE p.state <> 'completed')
                RETURNING j.id
                """).map { try $0.decode(String.self) }
            try recordEvents(session, s, "released", jobIDs: released, detail: "dependencies completed", now: now)
            return !released.isEmpty
        case .dead, .cancelled:
            _ = try cancelDependents(session, s, of: [jobID], endedIn: state, now: now)
            return false
        default:
            return false
        }
    }

    /// Cancels every blocked job downstream of `jobIDs` (which just ended dead or
    /// cancelled), the reason naming the job each one waited for, as
    /// ``Cancellation/dependencyReason(dependency:state:)`` words it. Returns the
    /// ids cancelled, oldest first.
    static func cancelDependents(_ session: PostgresSession, _ s: String, of jobIDs: [String], endedIn state: JobState,
                                 now: Timestamp) throws -> [String] {
        guard !jobIDs.isEmpty else { return [] }
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
        try recordEvents(session, s, "cancelled", jobIDs: cancelled, now: now)
        return cancelled
    }
}

extension PostgresJobStore {
    /// ``LeaseSQL/recordEvents(_:_:_:jobIDs:detail:now:)`` on this store's session.
    func recordEvents(_ kind: String, jobIDs: [String], detail: String? = nil, now: Timestamp) throws {
        try LeaseSQL.recordEvents(session, address.quotedSchema, kind, jobIDs: jobIDs, detail: detail, now: now)
    }

    /// ``LeaseSQL/cancelDependents(_:_:of:endedIn:now:)`` on this store's session.
    func cancelDependents(of jobIDs: [String], endedIn state: JobState, now: Timestamp) throws -> [String] {
        try LeaseSQL.cancelDependents(session, address.quotedSchema, of: jobIDs, endedIn: state, now: now)
    }
}
