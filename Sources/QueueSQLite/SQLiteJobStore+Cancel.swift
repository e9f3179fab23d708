import QueueCore
import GRDB

extension SQLiteJobStore {
    /// Cancels the jobs named, all or none, in one transaction (see
    /// ``Cancellation`` for what it does in each state). An unknown id (not found)
    /// or a job already final (conflict, naming its state) changes nothing.
    public func cancel(ids: [String], now: Timestamp) throws -> CancelReport {
        var unique: [String] = []
        var seen = Set<String>()
        for id in ids where seen.insert(id).inserted { unique.append(id) }
        let idList = JSONValue.array(unique.map(JSONValue.string)).serialized()
        return try write { db in
            var states: [String: JobState] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, state FROM jobs WHERE id IN (SELECT value FROM json_each(?))",
                                        arguments: [idList]) {
                states[row[0]] = JobState(rawValue: row[1])
            }
                        for id in unique {
                guard let state = states[id] else { throw QueueError.notFound("no job with id '\(id)'; nothing was cancelled") }
                switch Cancellation(state: state) {
                case .cancelNow, .stopRun: continue
                case let .conflict(state): throw QueueError.conflict("job '\(id)' is already \(state.rawValue); nothing was cancelled")
                }
            }
            var report = CancelReport()
            report.cancelled = try Self.cancelWaiting(db, sql: "id IN (SELECT value FROM json_each(?))", arguments: [idList], now: now)
            report.stopping = try Self.requestStop(db, sql: "id IN (SELECT value FROM json_each(?))", arguments: [idList], now: now)
            report.dependents = try Self.cancelDependents(db, of: report.cancelled, endedIn: .cancelled, now: now)
            return report
        }
    }

    /// Most jobs one transaction of a bulk cancel touches, so the write lock is
    /// never held for long (a few milliseconds per batch) and workers keep claiming.
    static let cancelBatchSize = 500

    /// Cancels every job in `state` (pending, blocked, failed or processing), a batch
    /// per transaction. `progress` is told each batch's report.
    public func cancelAll(in state: JobState, now: Timestamp, progress: (CancelReport) -> Void = { _ in }) throws -> CancelReport {
        guard case .conflict = Cancellation(state: state) else {
            var total = CancelReport()
            while true {
                let batch = try write { db -> CancelReport in
                    var report = CancelReport()
                    let selection = "seq IN (SELECT seq FROM jobs WHERE \(state.selectionCondition()) ORDER BY seq LIMIT \(Self.cancelBatchSize))"
                    if state == .processing {
                        // Marked jobs stay processing: skip those already marked.
                        report.stopping = try Self.requestStop(db, sql: """
                            seq IN (SELECT seq FROM jobs WHERE \(state.selectionCondition()) AND cancel_requested IS NULL
                                    ORDER BY seq LIMIT \(Self.cancelBatchSize))
                            """, arguments: [], now: now)
                    } else {
                        report.cancelled = try Self.cancelWaiting(db, sql: selection, arguments: [], now: now)
                    }
                    report.dependents = try Self.cancelDependents(db, of: report.cancelled, endedIn: .cancelled, now: now)
                    return report
                }
                progress(batch)
                total.cancelled += batch.cancelled
                total.stopping += batch.stopping
                total.dependents += batch.dependents
                if batch.cancelled.count + batch.stopping.count < Self.cancelBatchSize { return total }
                Self.pauseBetweenBatches()
            }
        }
        throw QueueError.invalidInput("jobs that are \(state.rawValue) are final and cannot be cancelled")
    }

    /// Waiting jobs matching `condition` become cancelled now; returns their ids.
    private static func cancelWaiting(_ db: Database, sql condition: String, arguments: StatementArguments,
                                      now: Timestamp) throws -> [String] {
        let all: StatementArguments = [Cancellation.requestedReason, now.milliseconds] + arguments
        let cancelled = try String.fetchAll(db, sql: """
            UPDATE jobs SET state = 'cancelled', last_error = ?, updated_at = ?, worker_id = NULL
            WHERE \(condition) AND state IN ('pending', 'scheduled', 'blocked', 'failed')
            RETURNING id
            """, arguments: all)
        try recordEvents(db, "cancelled", jobIDs: cancelled, now: now)
        return cancelled
    }

    /// Running jobs matching `condition` are marked for their workers to stop.
    private static func requestStop(_ db: Database, sql condition: String, arguments: StatementArguments, now: Timestamp) throws -> [String] {
        let marked = try String.fetchAll(db, sql: """
            UPDATE jobs SET cancel_requested = 1 WHERE \(condition) AND state = 'processing' RETURNING id
            """, arguments: arguments)
        try recordEvents(db, "cancel_requested", jobIDs: marked, detail: "the worker stops the run", now: now)
        return marked
    }

    /// The jobs `workerID` holds whose cancel was requested: its heartbeat reads
    /// them, so a worker learns of a cancel within one beat (at most 0.65 s).
    static func cancelRequests(_ db: Database, workerID: String) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: """
            SELECT id FROM jobs WHERE \(JobState.processing.selectionCondition()) AND worker_id = ? AND cancel_requested IS NOT NULL
            """), arguments: [workerID])
    }

    /// A heartbeat (see ``renewLease(workerID:jobsDone:)``) that also returns the
    /// jobs this worker holds whose cancel was requested. nil when the worker was released.
    public func heartbeatReportingCancels(workerID: String, jobsDone: Int = 0) throws -> (at: Timestamp, cancelled: [String])? {
        try write { db in
            let now = Timestamp.now()
            try db.execute(sql: "UPDATE workers SET heartbeat_at = ?, jobs_done = max(jobs_done, ?) WHERE id = ?",
                           arguments: [now.milliseconds, jobsDone, workerID])
            guard db.changesCount > 0 else { return nil }
            return (now, try Self.cancelRequests(db, workerID: workerID))
        }
    }
}
