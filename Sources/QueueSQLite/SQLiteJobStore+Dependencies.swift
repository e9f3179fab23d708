import QueueCore
import GRDB

extension SQLiteJobStore {
    /// Inserts a job that uses job-control fields, or returns the job already
    /// queued under its `unique_key` (then nothing is written).
    ///
    /// Uniqueness window: among jobs that are not final. Once the holder of a key is
    /// completed, dead or cancelled, the key is free again.
    static func insertControlled(_ job: inout Job, spec: JobSpec, in db: Database, position: String) throws -> Job? {
        if let key = spec.uniqueKey, let row = try Row.fetchOne(db, sql: """
            SELECT \(Job.columns) FROM jobs WHERE unique_key = ? AND state NOT IN ('completed', 'dead', 'cancelled') LIMIT 1
            """, arguments: [key]) {
            return try Job(row: row)
        }
        var dependencies: [(id: String, state: JobState)] = []
        for id in spec.dependsOn {
            guard let text = try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM jobs WHERE id = ?"), arguments: [id]),
                  let state = JobState(rawValue: text) else {
                throw QueueError.unknownDependency(id, position: position)
            }
            dependencies.append((id, state))
        }
        job.applyControl(of: spec, dependencies: dependencies)
        try db.execute(sql: """
            INSERT INTO jobs (id, command, state, attempts, max_retries, priority, run_at, timeout, created_at, updated_at,
                              queue, last_error, options, tags, unique_key, depends_on, requeued_from)
            VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [job.id, job.command, job.state.rawValue, job.maxRetries, job.priority, job.runAt.milliseconds,
                             job.timeout, job.createdAt.milliseconds, job.updatedAt.milliseconds, job.queue, job.lastError,
                             job.options.storedText, Job.storedText(job.tags), job.uniqueKey, Job.storedText(job.dependsOn),
                             job.requeuedFrom])
        let edge = try db.cachedStatement(sql: "INSERT OR IGNORE INTO job_dependencies (depends_on, job_id) VALUES (?, ?)")
        for id in spec.dependsOn { try edge.execute(arguments: [id, job.id]) }
        if job.state == .cancelled { try recordEvent(db, "cancelled", jobID: job.id, detail: job.lastError, now: job.createdAt) }
        return nil
    }

    /// What happens to the dependents of a job that just reached a final state, in
    /// the same transaction: when it completed, each blocked dependent whose
    /// dependencies have now all completed becomes `pending` (eligible at once);
    /// when it ended dead or cancelled, every blocked job that depends on it,
    /// directly or down a chain, is cancelled with a reason naming the dependency
    /// it waited for. Returns whether any job became pending (the caller rings the
    /// doorbell so idle workers take them without waiting for their poll).
    @discardableResult
    static func settleDependents(_ db: Database, of jobID: String, endedIn state: JobState, now: Timestamp) throws -> Bool {
        // The common case (no dependents) costs one index probe.
        guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM job_dependencies WHERE depends_on = ?)"),
                                arguments: [jobID]) ?? false else { return false }
        switch state {
        case .completed:
            let released = try String.fetchAll(db.cachedStatement(sql: """
                UPDATE jobs SET state = CASE WHEN run_at > ?1 THEN 'scheduled' ELSE 'pending' END, updated_at = ?1
                WHERE id IN (SELECT job_id FROM job_dependencies WHERE depends_on = ?2)
                  AND state = 'blocked'
                  AND NOT EXISTS (SELECT 1 FROM json_each(jobs.depends_on) d JOIN jobs p ON p.id = d.value
                                  WHERE p.state <> 'completed')
                RETURNING id
                """), arguments: [now.milliseconds, jobID])
            try recordEvents(db, "released", jobIDs: released, detail: "dependencies completed", now: now)
            return !released.isEmpty
        case .dead, .cancelled:
            _ = try cancelDependents(db, of: [jobID], endedIn: state, now: now)
            return false
        default:
            return false
        }
    }

    /// Cancels, in one statement, every blocked job downstream of `jobIDs` (which
    /// just ended in `state`, dead or cancelled). The reason names the job each one
    /// waited for, as ``Cancellation/dependencyReason(dependency:state:)`` words it.
    /// Returns the ids cancelled.
    static func cancelDependents(_ db: Database, of jobIDs: [String], endedIn state: JobState, now: Timestamp) throws -> [String] {
        guard !jobIDs.isEmpty else { return [] }
        let seed = JSONValue.array(jobIDs.map(JSONValue.string)).serialized()
        let cancelled = try String.fetchAll(db, sql: """
            WITH RECURSIVE doomed(id, cause, cause_state) AS (
                SELECT d.job_id, d.depends_on, ? FROM json_each(?) s JOIN job_dependencies d ON d.depends_on = s.value
                UNION
                SELECT d.job_id, doomed.id, 'cancelled' FROM doomed JOIN job_dependencies d ON d.depends_on = doomed.id
            )
            UPDATE jobs SET state = 'cancelled', updated_at = ?,
                last_error = 'dependency ' || doomed.cause || ' ended ' || doomed.cause_state
            FROM doomed WHERE jobs.id = doomed.id AND jobs.state = 'blocked'
            RETURNING jobs.id
            """, arguments: [state.rawValue, seed, now.milliseconds])
        try recordEvents(db, "cancelled", jobIDs: cancelled, now: now)
        return cancelled
    }

    /// The jobs that depend on `jobID` (enqueued with it in `depends_on`), oldest first.
    public func dependents(of jobID: String, limit: Int = 1000) throws -> [Job] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Job.columns) FROM jobs WHERE id IN (SELECT job_id FROM job_dependencies WHERE depends_on = ?)
                ORDER BY seq LIMIT ?
                """, arguments: [jobID, limit]).map(Job.init(row:))
        }
    }

    /// How many jobs depend on `jobID`.
    public func dependentCount(of jobID: String) throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM job_dependencies WHERE depends_on = ?", arguments: [jobID]) ?? 0 }
    }
}
