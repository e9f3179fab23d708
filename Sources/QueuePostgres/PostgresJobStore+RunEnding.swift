import PostgresNIO
import QueueCore

/// What a run's end writes besides the job and the run: its event, and what a
/// final state does to the jobs that depend on the job (in the same transaction).
extension PostgresJobStore {
    /// Records the change a run's end made, when it is not a plain completion.
    func recordEnding(jobID: String, attempt: Int, state: JobState,
                      retryAt: Timestamp?, error: String?, now: Timestamp) throws {
        guard let kind = QueueEvent.kind(endingIn: state) else { return }
        let detail = state == .failed ? retryAt.map { "retry at \($0.iso8601)" + (error.map { " after: \($0)" } ?? "") } : error
        try Self.recordEvent(session, kind, jobID: jobID, attempt: attempt, detail: detail, now: now)
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
    func settleDependents(of jobID: String, endedIn state: JobState,
                           now: Timestamp) throws -> Bool {
        let s = address.quotedSchema
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
            try recordEvents("released", jobIDs: released, detail: "dependencies completed", now: now)
            return !released.isEmpty
        case .dead, .cancelled:
            _ = try cancelDependents(of: [jobID], endedIn: state, now: now)
            return false
        default:
            return false
        }
    }
}
