import QueueCore
import Foundation
import GRDB

extension SQLiteJobStore {
    /// The jobs with these ids that exist, in no particular order (one statement
    /// for any number of ids).
    public func jobs(ids: [String]) throws -> [Job] {
        guard !ids.isEmpty else { return [] }
        let list = JSONValue.array(ids.map(JSONValue.string)).serialized()
        return try read { db in
            try Row.fetchAll(db, sql: "SELECT \(Job.columns) FROM jobs WHERE id IN (SELECT value FROM json_each(?))",
                             arguments: [list]).map(Job.init(row:))
        }
    }

    /// Fetches the jobs named (each once, in the order given), failing with
    /// not-found for the first id that names none.
    static func fetchJobs(_ db: Database, ids: [String]) throws -> [Job] {
        var seen = Set<String>()
        return try ids.filter { seen.insert($0).inserted }.map { try fetchJob(db, id: $0) }
    }

    /// Copies final jobs (completed, dead or cancelled) into new pending jobs with
    /// new ids and the same spec, recording `requeued_from`. All or none.
    public func requeue(ids: [String], now: Timestamp) throws -> [Job] {
        defer { Doorbell.ring(location) }
        return try write { db in
            try Self.fetchJobs(db, ids: ids).map { original in
                guard original.state.isFinal else {
                    throw QueueError.conflict("job '\(original.id)' is \(original.state.rawValue); only completed, dead or cancelled jobs can be requeued; nothing was requeued")
                }
                var spec = try JobSpec(command: original.command, maxRetries: original.maxRetries, priority: original.priority,
                                       timeout: original.timeout)
                spec.dependsOn = original.dependsOn
                spec.uniqueKey = original.uniqueKey
                spec.tags = original.tags
                spec.options = original.options
                spec.requeuedFrom = original.id
                spec.queue = original.queue
                var job = Job(id: JobID.generate(at: now), command: spec.command, maxRetries: original.maxRetries,
                              priority: spec.priority, runAt: now, timeout: spec.timeout, createdAt: now, updatedAt: now,
                              queue: original.queue)
                if let holder = try Self.insertControlled(&job, spec: spec, in: db, position: "") {
                    throw QueueError.conflict("job '\(original.id)': its unique_key is held by job '\(holder.id)' (\(holder.state.rawValue)); nothing was requeued")
                }
                try Self.registerQueue(db, job.queue)
                try Self.addToCount(db, queue: job.queue, state: job.state, 1)
                try Self.recordEvent(db, "requeued", jobID: original.id, detail: "as \(job.id)", now: now)
                return job
            }
        }
    }

    /// Makes delayed or retry-waiting jobs (pending or failed, with a `run_at`
    /// ahead) eligible now. All or none; a job in another state is a conflict.
    public func runNow(ids: [String], now: Timestamp) throws -> [Job] {
        defer { Doorbell.ring(location) }
        return try write { db in
            try Self.fetchJobs(db, ids: ids).map { job in
                guard [.pending, .failed, .scheduled].contains(job.state) else {
                    let why = job.state == .blocked ? "; it waits for its dependencies" : ""
                    throw QueueError.conflict("job '\(job.id)' is \(job.state.rawValue)\(why); only scheduled, failed or pending jobs can be run now; nothing was changed")
                }
                // Due now: straight to pending (the claim reads only pending jobs).
                try db.execute(sql: "UPDATE jobs SET state = 'pending', run_at = min(run_at, ?), updated_at = ? WHERE id = ?",
                               arguments: [now.milliseconds, now.milliseconds, job.id])
                try Self.recordEvent(db, "run_now", jobID: job.id, now: now)
                return try Self.fetchJob(db, id: job.id)
            }
        }
    }

    /// Most jobs one transaction of a bulk operation (dlq retry --all, dlq delete
    /// --all, prune) touches: the write lock is held for a few milliseconds at a
    /// time, so workers keep claiming while 100,000 jobs are processed.
    static let bulkBatchSize = 200

    /// Moves every dead job back to pending with attempts reset, a batch per
    /// transaction. Returns how many.
    public func retryAllDead(now: Timestamp) throws -> Int {
        defer { Doorbell.ring(location) }
        var total = 0
        while true {
            let count = try write { db -> Int in
                let retried = try String.fetchAll(db, sql: """
                    UPDATE jobs SET state = 'pending', attempts = 0, run_at = ?, updated_at = ?, worker_id = NULL, cancel_requested = NULL
                    WHERE seq IN (SELECT seq FROM jobs WHERE \(JobState.dead.selectionCondition()) ORDER BY seq LIMIT \(Self.bulkBatchSize))
                    RETURNING id
                    """, arguments: [now.milliseconds, now.milliseconds])
                try Self.recordEvents(db, "retried", jobIDs: retried, detail: "dlq retry", now: now)
                return retried.count
            }
            total += count
            if count < Self.bulkBatchSize { return total }
            Self.pauseBetweenBatches()
        }
    }

    /// Deletes dead jobs by id (all or none; a job that is not dead is a
    /// conflict), with their run history and log files.
    public func deleteDead(ids: [String]) throws -> [String] {
        let (deleted, logs) = try write { db -> ([String], [RunLog]) in
            let jobs = try Self.fetchJobs(db, ids: ids)
            for job in jobs where job.state != .dead {
                throw QueueError.conflict("job '\(job.id)' is \(job.state.rawValue), not dead; nothing was deleted")
            }
            return try Self.deleteJobs(db, ids: jobs.map(\.id))
        }
        removeLogFiles(logs)
        return deleted
    }

    /// Deletes every dead job, a batch per transaction. Returns how many.
    public func deleteAllDead() throws -> Int {
        try deleteFinal(state: .dead, updatedBefore: nil, dryRun: false)
    }

    /// Deletes (or with `dryRun` counts) jobs in final `state` last updated before
    /// `updatedBefore` (nil: any time), with their run history and log files, a
    /// batch per transaction. A job that a job not yet final depends on is kept.
    public func deleteFinal(state: JobState, updatedBefore: Timestamp?, dryRun: Bool) throws -> Int {
        if dryRun {
            let (condition, arguments) = Self.prunable(state: state, updatedBefore: updatedBefore)
            return try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE \(condition)", arguments: arguments) ?? 0 }
        }
        var total = 0
        while true {
            let deleted = try pruneBatch(state: state, updatedBefore: updatedBefore)
            total += deleted
            if deleted < Self.bulkBatchSize { return total }
            Self.pauseBetweenBatches()
        }
    }

    /// One transaction of a prune: deletes up to ``bulkBatchSize`` jobs (see
    /// ``deleteFinal(state:updatedBefore:dryRun:)``). Returns how many. Workers call
    /// it now and then for the retain-* config keys.
    public func pruneBatch(state: JobState, updatedBefore: Timestamp?) throws -> Int {
        let (condition, arguments) = Self.prunable(state: state, updatedBefore: updatedBefore)
        let (deleted, logs) = try write { db -> ([String], [RunLog]) in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM jobs WHERE \(condition) ORDER BY seq LIMIT \(Self.bulkBatchSize)",
                                          arguments: arguments)
            return try Self.deleteJobs(db, ids: ids)
        }
        removeLogFiles(logs)
        return deleted.count
    }

    /// Jobs a prune may delete: final, old enough, and not depended on by a job
    /// that is not final yet.
    private static func prunable(state: JobState, updatedBefore: Timestamp?) -> (String, StatementArguments) {
        precondition(state.isFinal, "only final jobs are pruned")
        var condition = """
            \(state.selectionCondition()) AND NOT EXISTS (SELECT 1 FROM job_dependencies d JOIN jobs c ON c.id = d.job_id
                WHERE d.depends_on = jobs.id AND c.state NOT IN ('completed', 'dead', 'cancelled'))
            """
        guard let updatedBefore else { return (condition, []) }
        condition += " AND updated_at < ?"
        return (condition, [updatedBefore.milliseconds])
    }

    /// A bulk operation's pause between two transactions, longer than a waiting
    /// writer's longest sleep (see BusyWait), so workers get the lock in between.
    static func pauseBetweenBatches() { usleep(3_000) }

    /// Deletes jobs with their runs and dependency edges; returns the ids and the
    /// log files to remove once the transaction is committed.
    static func deleteJobs(_ db: Database, ids: [String]) throws -> ([String], [RunLog]) {
        guard !ids.isEmpty else { return ([], []) }
        let list = JSONValue.array(ids.map(JSONValue.string)).serialized()
        let runs = try Row.fetchAll(db, sql: "DELETE FROM runs WHERE job_id IN (SELECT value FROM json_each(?)) RETURNING job_id, id",
                                    arguments: [list])
        // A job's own edges are found through its depends_on column (the table is keyed by the job depended on).
        try db.execute(sql: """
            DELETE FROM job_dependencies WHERE (depends_on, job_id) IN (
                SELECT d.value, j.id FROM jobs j, json_each(j.depends_on) d
                WHERE j.id IN (SELECT value FROM json_each(?)) AND j.depends_on IS NOT NULL)
            """, arguments: [list])
        try db.execute(sql: "DELETE FROM job_dependencies WHERE depends_on IN (SELECT value FROM json_each(?))", arguments: [list])
        try db.execute(sql: "DELETE FROM events WHERE job_id IN (SELECT value FROM json_each(?))", arguments: [list])
        let deleted = try String.fetchAll(db, sql: "DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?)) RETURNING id",
                                          arguments: [list])
        return (deleted, runs.map { row in RunLog(jobID: row[0], runID: row[1]) })
    }

    /// A run whose log file is to be removed.
    struct RunLog {
        var jobID: String
        var runID: Int64
    }

    private func removeLogFiles(_ logs: [RunLog]) {
        for log in logs { unlink(location.runLogPath(jobID: log.jobID, runID: log.runID)) }
    }
}
