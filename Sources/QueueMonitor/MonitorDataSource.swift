import Foundation
import QueueCore
import QueueRunner

/// Reads what the console shows from the store, and carries out its actions
/// through the same store and worker supervisor the CLI uses.
public final class MonitorDataSource {
    public let store: SQLiteJobStore
    public let supervisor: WorkerSupervisor
    /// Lines of output kept for the log pane and the detail overlay.
    static let tailBytes = 64 * 1024

    public init(store: SQLiteJobStore, supervisor: WorkerSupervisor) {
        self.store = store
        self.supervisor = supervisor
    }

    /// A snapshot for `state`: only the rows its panes show.
    public func fetch(for state: MonitorState) -> MonitorSnapshot {
        var snapshot = MonitorSnapshot(databasePath: store.location.databasePath)
        let now = Timestamp.now()
        do {
            // Release the jobs of dead workers even when no worker is left to do it.
            _ = try? Recovery.sweep(store: store, now: now)
            snapshot.counts = try store.counts()
            snapshot.workers = try store.workers()
            let jobsCursor = state.cursor(.jobs)
            let order: SQLiteJobStore.JobOrder = state.stateTab == .pending ? .claim : .newest
            let page = try store.jobPage(state: state.stateTab, filter: state.filter(.jobs), order: order,
                                         limit: state.rows(for: .jobs), offset: jobsCursor.offset)
            (snapshot.jobs, snapshot.jobsTotal, snapshot.jobsOffset) = (page.jobs, page.total, jobsCursor.offset)
            let deadCursor = state.cursor(.dlq)
            let dead = try store.jobPage(state: .dead, filter: state.filter(.dlq), order: .newest,
                                         limit: state.rows(for: .dlq), offset: deadCursor.offset)
            (snapshot.dead, snapshot.deadTotal, snapshot.deadOffset) = (dead.jobs, dead.total, deadCursor.offset)
            let stats = try store.stats(now: now)
            snapshot.succeededPerMinute = stats.perMinute.map(\.succeeded)
            snapshot.failedPerMinute = stats.perMinute.map(\.failed)
            snapshot.completedLastMinute = stats.windows.first?.succeeded ?? 0
            snapshot.failedLastMinute = stats.windows.first?.failed ?? 0
            if let id = state.selectedJobID(snapshot: snapshot) { snapshot.log = try logTail(jobID: id) }
            if case let .detail(id) = state.overlay { snapshot.detail = try detail(jobID: id) }
            snapshot.fetchedAt = now
        } catch {
            snapshot.error = (error as? QueueError)?.message ?? "\(error)"
            snapshot.fetchedAt = now
        }
        return snapshot
    }

    /// Size of the selected run's log file, to notice output without a commit.
    public func logSize(_ tail: LogTail?) -> Int64? {
        guard let tail, let runID = try? store.runID(jobID: tail.jobID, attempt: nil) else { return nil }
        return Self.fileSize(store.location.runLogPath(jobID: tail.jobID, runID: runID))
    }

    func logTail(jobID: String) throws -> LogTail? {
        let runs = try store.runs(jobID: jobID)
        guard let run = runs.last else { return nil }
        let path = store.location.runLogPath(jobID: jobID, runID: run.id)
        return LogTail(jobID: jobID, attempt: run.attempt, running: run.outcome == nil, lines: Self.tail(path),
                       fileSize: Self.fileSize(path) ?? 0)
    }

    func detail(jobID: String) throws -> JobDetail? {
        guard let job = try? store.job(id: jobID) else { return nil }
        let runs = try store.runs(jobID: jobID)
        let output = runs.last.map { Self.tail(store.location.runLogPath(jobID: jobID, runID: $0.id)) } ?? []
        return JobDetail(job: job, runs: runs, output: Array(output.suffix(40)))
    }

    static func fileSize(_ path: String) -> Int64? {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : nil
    }

    /// The last lines of a file, read from its end only (logs can be large).
    static func tail(_ path: String) -> [String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        let start = size > UInt64(tailBytes) ? size - UInt64(tailBytes) : 0
        try? handle.seek(toOffset: start)
        let data = (try? handle.readToEnd()) ?? Data()
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if start > 0, !lines.isEmpty { lines.removeFirst() }   // a partial first line
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Carries out an effect; returns the one-line flash that says what happened.
    public func perform(_ effect: MonitorEffect, snapshot: MonitorSnapshot) -> String {
        do {
            switch effect {
            case let .retry(ids):
                let jobs = try store.retryDead(ids: ids, now: .now())
                return "\(jobs.count) job\(jobs.count == 1 ? "" : "s") → pending"
            case .retryAllDead:
                var total = 0
                while true {
                    let page = try store.jobPage(state: .dead, filter: "", order: .newest, limit: 500, offset: 0)
                    if page.jobs.isEmpty { break }
                    total += try store.retryDead(ids: page.jobs.map(\.id), now: .now()).count
                }
                return "\(total) job\(total == 1 ? "" : "s") → pending"
            case .startWorker:
                let started = try supervisor.startBackground(count: 1)
                return "started worker \(started.map(\.id).joined(separator: ", "))"
            case let .stopWorker(id):
                _ = try supervisor.stop(workerIDs: [id], wait: false)
                return "stopping worker \(id) (it finishes its current job)"
            case .stopAllWorkers:
                let report = try supervisor.stop(workerIDs: nil, wait: false)
                return "stopping \(report.requested.count) worker(s) gracefully"
            }
        } catch {
            return "failed: " + ((error as? QueueError)?.message ?? "\(error)")
        }
    }
}
