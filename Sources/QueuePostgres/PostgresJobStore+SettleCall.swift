import Foundation
import PostgresNIO
import QueueCore

/// A worker's usual settle in one round trip: the schema's `queuectl_settle`
/// function (migration 4, see ``PostgresSchema/version4(_:)``) records a batch of
/// successful runs and claims the next batch from the one queue there is, as one
/// statement.
///
/// Why: a worker waits for every statement it sends, and on a machine whose
/// cores its jobs keep busy each answer costs wake-ups of the worker, its I/O
/// thread and the server's process, each behind the jobs for a core. The
/// transaction of ``PostgresJobStore/settleInTransaction`` waits four times per
/// batch; this waits once.
extension PostgresJobStore {
    /// Settles through the function. Returns nil when the function left the whole
    /// settle to the caller (a finished job has dependents: nothing was written);
    /// when it recorded the results but left the claim (several queues taking
    /// turns, a queue limit, a schedule due), claims in a transaction of its own.
    /// Only for results that all succeeded: their endings do not depend on the
    /// config (a success completes the job, cancel requested or not), which the
    /// caller has not read yet.
    func settleInOneCall(_ results: [FinishedRun], request: ClaimRequest, jobsDone: Int?) throws -> Settlement? {
        let now = request.now
        // A succeeded run's endings read no retry policy (see RunEnding.decide).
        let endings = results.map {
            RunEnding.alternatives(job: $0.claimed.job, result: $0.result, policy: QueueConfig().retryPolicy, now: now)
        }
        let statement = try PreparedStatement<SettleCallSQL>([
            try FinishInput.json(results, endings: endings, now: now), now.milliseconds, request.workerID,
            request.limit, request.queues, jobsDone,
        ])
        let rows: [PostgresRow]
        do {
            rows = try session.single(statement)
        } catch let error as PostgresQueryError where error.sqlState == SettleCallSQL.leftToCaller {
            return nil
        }
        guard let summary = rows.last?.makeRandomAccess(), try summary[0].decode(String?.self) == nil,
              let outcome = SettleCallSQL.Outcome(rawValue: try summary[21].decode(String.self)) else {
            throw QueueError.runtime("queuectl_settle answered without its summary row")
        }
        let recorded = Set(try summary[22].decode([String].self))
        let config = Self.config(keys: try summary[23].decode([String].self), values: try summary[24].decode([Double].self))

        var settlement = Settlement()
        settlement.finished = zip(results, endings).map { run, ending in
            recorded.contains(run.claimed.job.id)
                ? Self.recorded(run.claimed.job, ending: ending.ifRunning, cancelRequested: false,
                                exitCode: run.result.exitCode, now: now)
                : nil
        }
        let claimed = try rows.dropLast().map { row in
            ClaimedJob(job: try Job(postgresRow: row), runID: try row.makeRandomAccess()[20].decode(Int64.self), config: config)
        }
        switch outcome {
        case .claimed, .idle:
            if let first = claimed.first {
                settlement.next = .claimed(first)
                settlement.ahead = Array(claimed.dropFirst())
            }
        case .stopping: settlement.next = .stopRequested
        case .released: settlement.next = .workerReleased
        case .claim:
            let next = try settleInTransaction([], givingBack: [], request: request, jobsDone: jobsDone)
            settlement.next = next.next
            settlement.ahead = next.ahead
        }
        return settlement
    }
}

/// The call of `queuectl_settle` (see ``PostgresSchema/version4(_:)``): `$1` the
/// results as ``FinishInput`` JSON, `$2` now (ms), `$3` the worker's id, `$4` the
/// most jobs to claim, `$5` the queues it serves (NULL: all), `$6` its jobs done
/// (NULL: none to record).
enum SettleCallSQL: PreparedText {
    static let sql = "SELECT * FROM queuectl_settle($1::JSONB, $2::BIGINT, $3::TEXT, $4::BIGINT::INTEGER, $5::TEXT[], $6::BIGINT::INTEGER)"

    /// The SQLSTATE the function raises, having changed nothing, when a finished
    /// job has dependents (the full transaction releases them).
    static let leftToCaller = "QC001"

    /// How the settle went, as its summary row says.
    enum Outcome: String {
        /// Jobs were claimed (their rows come before the summary).
        case claimed
        /// Nothing to claim, or no claim asked for.
        case idle
        /// The results are recorded; the claim is the caller's.
        case claim
        /// The worker was asked to stop: no claim.
        case stopping
        /// The worker's row is gone: no claim.
        case released
    }
}
