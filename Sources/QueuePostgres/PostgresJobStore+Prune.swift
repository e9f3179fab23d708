import PostgresNIO
import QueueCore

/// Deleting final jobs: `prune`, `dlq delete --all` and the workers' retention
/// (the retain-* config keys), in bounded batches.
extension PostgresJobStore {
    /// Deletes (or with `dryRun` counts) jobs in final `state` last updated before
    /// `updatedBefore` (nil: any time), with their runs, output and events, a batch
    /// per transaction. A job that a job not yet final depends on is kept.
    public func deleteFinal(state: JobState, updatedBefore: Timestamp?, dryRun: Bool) throws -> Int {
        if dryRun {
            let query = try Self.prunable("SELECT count(*)", state: state, updatedBefore: updatedBefore, suffix: "")
            return try session.query(query).first?.decode(Int.self) ?? 0
        }
        var total = 0
        while true {
            let deleted = try pruneBatch(state: state, updatedBefore: updatedBefore)
            total += deleted
            if deleted < Self.bulkBatchSize { return total }
        }
    }

    /// One transaction of a prune: deletes up to ``bulkBatchSize`` jobs (see
    /// ``deleteFinal(state:updatedBefore:dryRun:)``). Returns how many. Rows another
    /// transaction holds are skipped, not waited for: a prune never stalls a worker.
    public func pruneBatch(state: JobState, updatedBefore: Timestamp?) throws -> Int {
        let query = try Self.prunable("SELECT id", state: state, updatedBefore: updatedBefore,
                                      suffix: "ORDER BY seq LIMIT \(Self.bulkBatchSize) FOR UPDATE SKIP LOCKED")
        return try session.transaction {
            let ids = try session.query(query).map { try $0.decode(String.self) }
            return try deleteJobs(ids: ids).count
        }
    }

    /// `select` over the jobs a prune may delete: final, old enough, and not
    /// depended on by a job that is not final yet; `suffix` ends the statement.
    private static func prunable(_ select: String, state: JobState, updatedBefore: Timestamp?,
                                 suffix: String) throws -> PostgresQuery {
        guard state.isFinal else {
            throw QueueError.invalidInput("only completed, dead or cancelled jobs are deleted; \(state.rawValue) is not final")
        }
        return """
            \(unescaped: select) FROM jobs WHERE state = '\(unescaped: state.rawValue)'
              AND updated_at < \(updatedBefore?.milliseconds ?? Int64.max)
              AND NOT EXISTS (SELECT 1 FROM job_dependencies d JOIN jobs c ON c.id = d.job_id
                              WHERE d.depends_on = jobs.id AND c.state NOT IN ('completed', 'dead', 'cancelled'))
            \(unescaped: suffix)
            """
    }

    /// Deletes jobs with their runs (their output goes with them: `run_output`
    /// cascades), dependency edges and events, inside the caller's transaction.
    /// Returns the ids deleted, in the order given.
    func deleteJobs(ids: [String]) throws -> [String] {
        guard !ids.isEmpty else { return [] }
        try session.execute("DELETE FROM runs WHERE job_id = ANY(\(ids))")
        // A job's own edges are found through its depends_on column (the table is
        // keyed by the job depended on).
        try session.execute("""
            DELETE FROM job_dependencies WHERE (depends_on, job_id) IN (
                SELECT d, j.id FROM jobs j, unnest(j.depends_on) AS d WHERE j.id = ANY(\(ids)) AND j.depends_on IS NOT NULL)
            """)
        try session.execute("DELETE FROM job_dependencies WHERE depends_on = ANY(\(ids))")
        try session.execute("DELETE FROM events WHERE job_id = ANY(\(ids))")
        let deleted = Set(try session.query("DELETE FROM jobs WHERE id = ANY(\(ids)) RETURNING id").map { try $0.decode(String.self) })
        return ids.filter(deleted.contains)
    }
}
