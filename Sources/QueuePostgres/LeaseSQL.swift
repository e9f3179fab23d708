import PostgresNIO
import QueueCore

/// Statements the lease side of ``PostgresJobStore`` shares (claims, results,
/// recovery): reading a job row, the config, events, and what a job's end does
/// to the jobs that depend on it. Every function runs inside the caller's
/// transaction on `session`; `s` is the quoted schema name.
enum LeaseSQL {
    /// The columns ``job(_:at:)`` reads, in its order (prefix: a table alias).
    static func jobColumns(_ prefix: String = "") -> String {
        ["id", "command", "state", "attempts", "max_retries", "priority", "run_at", "timeout", "created_at", "updated_at",
         "last_error", "exit_code", "worker_id", "queue", "options", "tags", "unique_key", "depends_on", "requeued_from",
         "cancel_requested"].map { prefix + $0 }.joined(separator: ", ")
    }

    /// Number of columns in ``jobColumns(_:)``.
    static let jobColumnCount = 20

    /// A job from the ``jobColumns(_:)`` of `row`, starting at column `first`.
    static func job(_ row: PostgresRandomAccessRow, at first: Int = 0) throws -> Job {
        func cell(_ i: Int) -> PostgresCell { row[first + i] }
        let stateText = try cell(2).decode(String.self)
        guard let state = JobState(rawValue: stateText) else {
            throw QueueError.runtime("database holds an unknown job state '\(stateText)'")
        }
        var job = Job(
            id: try cell(0).decode(String.self), command: try cell(1).decode(String.self), state: state,
            attempts: try cell(3).decode(Int.self), maxRetries: try cell(4).decode(Int.self), priority: try cell(5).decode(Int.self),
            runAt: Timestamp(milliseconds: try cell(6).decode(Int64.self)), timeout: try cell(7).decode(Double?.self),
            createdAt: Timestamp(milliseconds: try cell(8).decode(Int64.self)),
            updatedAt: Timestamp(milliseconds: try cell(9).decode(Int64.self)),
            lastError: try cell(10).decode(String?.self), exitCode: try cell(11).decode(Int?.self),
            workerID: try cell(12).decode(String?.self), queue: try cell(13).decode(String.self))
        if let options = try cell(14).decode(String?.self) { job.options = JobOptions(storedText: options) }
        if let tags = try cell(15).decode([String]?.self) { job.tags = tags }
        job.uniqueKey = try cell(16).decode(String?.self)
        if let dependsOn = try cell(17).decode([String]?.self) { job.dependsOn = dependsOn }
        job.requeuedFrom = try cell(18).decode(String?.self)
        job.cancelRequested = try cell(19).decode(Bool.self)
        return job
    }

    /// The stored config (keys unset take their defaults).
    static func config(_ session: PostgresSession, _ s: String) throws -> QueueConfig {
        var values: [ConfigKey: Double] = [:]
        for row in try session.query("SELECT key, value FROM \(unescaped: s).config WHERE value IS NOT NULL") {
            let (key, value) = try row.decode((String, Double).self)
            if let key = ConfigKey(rawValue: key) { values[key] = value }
        }
        return QueueConfig(values: values)
    }

    /// Records a change in the events table (see ``QueueEvent``).
    static func recordEvent(_ session: PostgresSession, _ s: String, _ kind: String, jobID: String, attempt: Int? = nil,
                            detail: String? = nil, now: Timestamp) throws {
        try session.execute("""
            INSERT INTO \(unescaped: s).events (at, job_id, kind, attempt, detail)
            VALUES (\(now.milliseconds), \(jobID), \(kind), \(attempt), \(detail))
            """)
    }

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
        try recordEvent(session, s, kind, jobID: jobID, attempt: attempt, detail: detail, now: now)
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
    /// ``Cancellation/dependencyReason(dependency:state:)`` words it.
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
            RETURNING jobs.id
            """).map { try $0.decode(String.self) }
        try recordEvents(session, s, "cancelled", jobIDs: cancelled, now: now)
        return cancelled
    }
}
