import PostgresNIO
import QueueCore

/// `queuectl cancel`: waiting jobs become cancelled at once, running ones are
/// marked (`cancel_requested`) for their workers, whose heartbeat reads the mark
/// and stops the run; blocked jobs depending on a cancelled one are cancelled
/// with it (see `Cancellation`).
extension PostgresJobStore {
    /// Cancels the jobs named, all or none, in one transaction (see
    /// `Cancellation` for what it does in each state). An unknown id (not found)
    /// or a job already final (conflict, naming its state) changes nothing.
    public func cancel(ids: [String], now: Timestamp) throws -> CancelReport {
        try session.transaction {
            var states: [String: JobState] = [:]
            let unique = Self.distinct(ids)
            for row in try session.query("SELECT id, state FROM jobs WHERE id = ANY(\(unique)) ORDER BY seq FOR UPDATE") {
                let (id, state) = try row.decode((String, String).self)
                states[id] = JobState(rawValue: state)
            }
            for id in unique {
                guard let state = states[id] else { throw QueueError.notFound("no job with id '\(id)'; nothing was cancelled") }
                switch Cancellation(state: state) {
                case .cancelNow, .stopRun: continue
                case let .conflict(state): throw QueueError.conflict("job '\(id)' is already \(state.rawValue); nothing was cancelled")
                }
            }
            var report = CancelReport()
            report.cancelled = try cancelWaiting(unique.filter { Cancellation(state: states[$0]!) == .cancelNow }, now: now)
            report.stopping = try requestStop(unique.filter { Cancellation(state: states[$0]!) == .stopRun }, now: now)
            report.dependents = try cancelDependents(of: report.cancelled, endedIn: .cancelled, now: now)
            return report
        }
    }

    /// Most jobs one transaction of a bulk cancel touches, so no transaction holds
    /// many row locks for long and workers keep claiming.
    static let cancelBatchSize = 500

    /// Cancels every job in `state` (pending, scheduled, blocked, failed or
    /// processing), a batch per transaction. `progress` is told each batch's report.
    public func cancelAll(in state: JobState, now: Timestamp, progress: (CancelReport) -> Void) throws -> CancelReport {
        if case .conflict = Cancellation(state: state) {
            throw QueueError.invalidInput("jobs that are \(state.rawValue) are final and cannot be cancelled")
        }
        var total = CancelReport()
        while true {
            let batch = try session.transaction { () -> CancelReport in
                // Marked jobs stay processing: skip those already marked.
                let unmarked = state == .processing ? "AND NOT cancel_requested" : ""
                let ids = try session.query("""
                    SELECT id FROM jobs WHERE state = '\(unescaped: state.rawValue)' \(unescaped: unmarked)
                    ORDER BY seq LIMIT \(Self.cancelBatchSize) FOR UPDATE
                    """).map { try $0.decode(String.self) }
                var report = CancelReport()
                if state == .processing {
                    report.stopping = try requestStop(ids, now: now)
                } else {
                    report.cancelled = try cancelWaiting(ids, now: now)
                }
                report.dependents = try cancelDependents(of: report.cancelled, endedIn: .cancelled, now: now)
                return report
            }
            progress(batch)
            total.cancelled += batch.cancelled
            total.stopping += batch.stopping
            total.dependents += batch.dependents
            if batch.cancelled.count + batch.stopping.count < Self.cancelBatchSize { return total }
        }
    }

    /// The waiting jobs among `ids` become cancelled now; returns their ids in the
    /// order given.
    private func cancelWaiting(_ ids: [String], now: Timestamp) throws -> [String] {
        guard !ids.isEmpty else { return [] }
        let cancelled = Set(try session.query("""
            UPDATE jobs SET state = 'cancelled', last_error = \(Cancellation.requestedReason), updated_at = \(now.milliseconds),
                worker_id = NULL
            WHERE id = ANY(\(ids)) AND state IN ('pending', 'scheduled', 'blocked', 'failed')
            RETURNING id
            """).map { try $0.decode(String.self) })
        let ordered = ids.filter(cancelled.contains)
        try recordEvents("cancelled", jobIDs: ordered, now: now)
        return ordered
    }

    /// The running jobs among `ids` are marked for their workers to stop.
    private func requestStop(_ ids: [String], now: Timestamp) throws -> [String] {
        guard !ids.isEmpty else { return [] }
        let marked = Set(try session.query("""
            UPDATE jobs SET cancel_requested = TRUE WHERE id = ANY(\(ids)) AND state = 'processing' RETURNING id
            """).map { try $0.decode(String.self) })
        let ordered = ids.filter(marked.contains)
        try recordEvents("cancel_requested", jobIDs: ordered, detail: "the worker stops the run", now: now)
        return ordered
    }
}
