import PostgresNIO
import QueueCore

/// Running jobs again: dead-letter retry and delete, requeue of final jobs, and
/// run-now of waiting ones. Each call naming jobs is one transaction, all or
/// none, with the errors and events of the SQLite store. Jobs that become
/// `pending` wake idle workers through the schema's trigger at commit.
extension PostgresJobStore {
    /// Moves dead jobs back to `pending` with `attempts` reset. Every id must name a
    /// dead job, or nothing changes.
    public func retryDead(ids: [String], now: Timestamp) throws -> [Job] {
        try session.transaction {
            let jobs = try lockJobs(ids: ids)
            for job in jobs where job.state != .dead {
                throw QueueError.invalidInput("job '\(job.id)' is \(job.state.rawValue), not dead; nothing was retried")
            }
            let retried = jobs.map(\.id)
            guard !retried.isEmpty else { return [] }
            try session.execute("""
                UPDATE jobs SET state = 'pending', attempts = 0, run_at = \(now.milliseconds), updated_at = \(now.milliseconds),
                    worker_id = NULL
                WHERE id = ANY(\(retried)) AND state = 'dead'
                """)
            try recordEvents("retried", jobIDs: retried, detail: "dlq retry", now: now)
            return try self.jobs(inOrder: retried)
        }
    }

    /// Most jobs one transaction of a bulk operation (dlq retry --all, dlq delete
    /// --all, prune) touches, so no transaction holds thousands of row locks that
    /// workers' claims and results would wait for.
    static let bulkBatchSize = 200

    /// Moves every dead job back to pending with attempts reset, a batch per
    /// transaction. Returns how many.
    public func retryAllDead(now: Timestamp) throws -> Int {
        var total = 0
        while true {
            let count = try session.transaction { () -> Int in
                let retried = try session.query("""
                    UPDATE jobs SET state = 'pending', attempts = 0, run_at = \(now.milliseconds), updated_at = \(now.milliseconds),
                        worker_id = NULL, cancel_requested = FALSE
                    WHERE seq IN (SELECT seq FROM jobs WHERE state = 'dead' ORDER BY seq LIMIT \(Self.bulkBatchSize) FOR UPDATE)
                      AND state = 'dead'
                    RETURNING seq, id
                    """).map { try $0.decode((Int64, String).self) }.sorted { $0.0 < $1.0 }.map(\.1)
                try recordEvents("retried", jobIDs: retried, detail: "dlq retry", now: now)
                return retried.count
            }
            total += count
            if count < Self.bulkBatchSize { return total }
        }
    }

    /// Deletes dead jobs by id (all or none; a job that is not dead is a
    /// conflict), with their runs, output and events.
    public func deleteDead(ids: [String]) throws -> [String] {
        try session.transaction {
            let jobs = try lockJobs(ids: ids)
            for job in jobs where job.state != .dead {
                throw QueueError.conflict("job '\(job.id)' is \(job.state.rawValue), not dead; nothing was deleted")
            }
            return try deleteJobs(ids: jobs.map(\.id))
        }
    }

    /// Deletes every dead job, a batch per transaction. Returns how many.
    public func deleteAllDead() throws -> Int {
        try deleteFinal(state: .dead, updatedBefore: nil, dryRun: false)
    }

    /// Copies final jobs (completed, dead or cancelled) into new pending jobs with
    /// new ids and the same spec, recording `requeued_from`. All or none. The copy
    /// is enqueued as `enqueue` would (dependencies, unique key, queue), inside this
    /// transaction.
    public func requeue(ids: [String], now: Timestamp) throws -> [Job] {
        try session.transaction {
            try lockJobs(ids: ids).map { original in
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
                guard let copy = try enqueueReportingDuplicates([spec], now: now).first else {
                    throw QueueError.runtime("requeue of job '\(original.id)' enqueued nothing")
                }
                if copy.duplicate {
                    throw QueueError.conflict("job '\(original.id)': its unique_key is held by job '\(copy.job.id)' (\(copy.job.state.rawValue)); nothing was requeued")
                }
                try Self.recordEvent(session, "requeued", jobID: original.id, detail: "as \(copy.job.id)", now: now)
                return copy.job
            }
        }
    }

    /// Makes delayed or retry-waiting jobs (pending, scheduled, or failed with a
    /// `run_at` ahead) eligible now. All or none; a job in another state is a conflict.
    public func runNow(ids: [String], now: Timestamp) throws -> [Job] {
        try session.transaction {
            let jobs = try lockJobs(ids: ids)
            for job in jobs where ![.pending, .failed, .scheduled].contains(job.state) {
                let why = job.state == .blocked ? "; it waits for its dependencies" : ""
                throw QueueError.conflict("job '\(job.id)' is \(job.state.rawValue)\(why); only scheduled, failed or pending jobs can be run now; nothing was changed")
            }
            let due = jobs.map(\.id)
            guard !due.isEmpty else { return [] }
            // Due now: straight to pending (the claim reads only pending jobs).
            try session.execute("""
                UPDATE jobs SET state = 'pending', run_at = least(run_at, \(now.milliseconds)), updated_at = \(now.milliseconds)
                WHERE id = ANY(\(due))
                """)
            for id in due { try Self.recordEvent(session, "run_now", jobID: id, now: now) }
            return try self.jobs(inOrder: due)
        }
    }
}
