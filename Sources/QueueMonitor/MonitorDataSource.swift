import Foundation
import QueueCore
import QueueRunner

/// Reads what the console shows from the store, and carries out its actions
/// through the same store and worker supervisor the CLI uses. Synchronous and
/// free of terminal code: ``MonitorFetcher`` runs it off the screen's thread, and
/// tests call it directly.
public final class MonitorDataSource {
    /// What every pane reads.
    public let reader: any JobReader
    /// What actions and recovery sweeps write through; nil with `--readonly`, so a
    /// read-only console holds no way to change the queue at all.
    private let store: (any JobStore)?
    public let supervisor: WorkerSupervisor
    /// `--readonly`: never write, not even a recovery sweep.
    public var readonly: Bool { store == nil }
    /// Bytes read from the end of a run's output for the log tail and the detail.
    static let tailBytes = 64 * 1024
    /// Output lines the detail overlay keeps.
    static let detailOutputLines = 200
    /// Dependents the detail overlay lists.
    static let detailDependents = 50
    /// How long a recovery sweep waits for another process's write lock: it is
    /// only worth doing when the database is free, and the console must not stall.
    static let sweepBusyTimeoutSeconds = 0.2
    /// Dead jobs retried per transaction by "retry all".
    static let retryBatch = 500

    private var lastVersion: Int64?

    /// A console that acts: reads and writes through `store`.
    public init(store: any JobStore, supervisor: WorkerSupervisor) {
        self.reader = store
        self.store = store
        self.supervisor = supervisor
    }

    /// A read-only console (`--readonly`): it holds only `reader`.
    public init(reader: any JobReader, supervisor: WorkerSupervisor) {
        self.reader = reader
        self.store = nil
        self.supervisor = supervisor
    }

    // MARK: Reading

    /// A snapshot answering `query`: only the rows its panes show, each cursor kept
    /// on its job. When the database fails, the last good data (`previous`) is
    /// kept and the error is set.
    public func fetch(_ query: MonitorQuery, previous: MonitorSnapshot?, now: Timestamp = .now()) -> MonitorSnapshot {
        var snapshot = MonitorSnapshot(databasePath: reader.displayAddress)
        do {
            (snapshot.counts, snapshot.workers) = try reader.countsAndWorkers()
            let (jobs, jobsCursor) = try resolve(query.jobs, cursor: query.cursor(.jobs), rows: query.rows(.jobs))
            (snapshot.jobs, snapshot.jobsTotal, snapshot.jobsOffset) = (jobs.jobs, jobs.total, jobs.offset)
            let (dead, deadCursor) = try resolve(query.dead, cursor: query.cursor(.dlq), rows: query.rows(.dlq))
            (snapshot.dead, snapshot.deadTotal, snapshot.deadOffset) = (dead.jobs, dead.total, dead.offset)
            let visibleWorkers = MonitorQuery.workers(snapshot.workers, matching: query.workersFilter)
            var workersCursor = query.cursor(.workers)
            if let id = workersCursor.selectedID, let i = visibleWorkers.firstIndex(where: { $0.id == id }) { workersCursor.index = i }
            workersCursor.scrollIntoView(rows: query.rows(.workers), total: visibleWorkers.count)
            workersCursor.selectedID = visibleWorkers.indices.contains(workersCursor.index) ? visibleWorkers[workersCursor.index].id : nil
            snapshot.queues = try reader.queues()
            snapshot.schedules = try reader.schedules()
            var queuesCursor = query.cursor(.queues)
            if let name = queuesCursor.selectedID, let i = snapshot.queues.firstIndex(where: { $0.name == name }) { queuesCursor.index = i }
            queuesCursor.scrollIntoView(rows: query.rows(.queues), total: snapshot.queues.count)
            queuesCursor.selectedID = snapshot.queues.indices.contains(queuesCursor.index) ? snapshot.queues[queuesCursor.index].name : nil
            snapshot.cursors = [.jobs: jobsCursor, .dlq: deadCursor, .workers: workersCursor, .queues: queuesCursor]

            let throughput = try reader.throughput(now: now)
            snapshot.succeededPerMinute = throughput.succeededPerMinute
            snapshot.failedPerMinute = throughput.failedPerMinute
            snapshot.completedLastMinute = throughput.succeededLastMinute
            snapshot.failedLastMinute = throughput.failedLastMinute

            let logJob: String?
            switch query.logSource {
            case .jobs: logJob = Self.selected(jobs, jobsCursor)
            case .dlq: logJob = Self.selected(dead, deadCursor)
            case .workers:
                // An idle worker's pane keeps the output of the job it ran last.
                if visibleWorkers.indices.contains(workersCursor.index) {
                    let worker = visibleWorkers[workersCursor.index]
                    logJob = worker.jobID ?? previous?.log.flatMap { $0.workerID == worker.id ? $0.jobID : nil }
                } else {
                    logJob = nil
                }
            case .log, .queues: logJob = nil
            }
            if let logJob {
                if query.logFrozen, let kept = previous?.log, kept.jobID == logJob {
                    snapshot.log = kept
                } else {
                    snapshot.log = try logTail(jobID: logJob)
                }
            }
            if let id = query.detailJobID { snapshot.detail = try detail(jobID: id) }
            snapshot.requested = query
            snapshot.fetchedAt = now
            return snapshot
        } catch {
            var stale = previous ?? snapshot
            stale.error = Self.message(error)
            stale.requested = nil   // its cursors answer an older query
            return stale
        }
    }

    /// The page of `list` around `cursor`, with the cursor moved to where its job
    /// is now (found by id), kept in range and on screen. A cursor on the first row
    /// stays there: whoever watches the top of a list sees new jobs as they arrive.
    func resolve(_ list: JobListQuery, cursor: ListCursor, rows: Int) throws -> (JobPage, ListCursor) {
        var c = cursor
        var page = try reader.jobPage(list, limit: rows, offset: c.offset)
        if let id = c.selectedID, c.index != 0 {
            if let i = page.jobs.firstIndex(where: { $0.id == id }) {
                c.index = page.offset + i
            } else if let position = try reader.jobPosition(id: id, in: list) {
                c.index = position
            }
            // Else the job left this list: the one now at its place is selected.
        }
        c.scrollIntoView(rows: rows, total: page.total)
        if c.offset != page.offset {
            page = try reader.jobPage(list, limit: rows, offset: c.offset)
            c.scrollIntoView(rows: rows, total: page.total)
        }
        c.selectedID = Self.selected(page, c)
        return (page, c)
    }

    private static func selected(_ page: JobPage, _ cursor: ListCursor) -> String? {
        let i = cursor.index - page.offset
        return page.jobs.indices.contains(i) ? page.jobs[i].id : nil
    }

    func logTail(jobID: String) throws -> LogTail? {
        guard let runID = try reader.runID(jobID: jobID, number: nil) else { return nil }
        let runs = try reader.runs(jobID: jobID)
        guard let run = runs.last(where: { $0.id == runID }) ?? runs.last else { return nil }
        let path = reader.location.runLogPath(jobID: jobID, runID: run.id)
        let tail = RunOutputTail.lines(store: reader, jobID: jobID, runID: run.id, bytes: Self.tailBytes)
        return LogTail(jobID: jobID, attempt: run.number, running: run.outcome == nil, lines: tail.lines.map(LogText.clean), path: path,
                       fileSize: tail.total, workerID: run.workerID, runID: run.id)
    }

    func detail(jobID: String) throws -> JobDetail? {
        let job: Job
        do {
            job = try reader.job(id: jobID)
        } catch let error as QueueError where error.kind == .notFound {
            return nil
        }
        let runs = try reader.runs(jobID: jobID)
        let dependents = try reader.dependents(of: jobID, limit: Self.detailDependents).map(\.id)
        guard let last = runs.last else { return JobDetail(job: job, runs: [], output: [], dependents: dependents) }
        let path = reader.location.runLogPath(jobID: jobID, runID: last.id)
        let tail = RunOutputTail.lines(store: reader, jobID: jobID, runID: last.id, bytes: Self.tailBytes)
        return JobDetail(job: job, runs: runs, output: Array(tail.lines.map(LogText.clean).suffix(Self.detailOutputLines)), logPath: path,
                         logSize: tail.total, dependents: dependents, logRunID: last.id)
    }

    // MARK: Change detection

    /// Whether anything on screen may have changed since `snapshot`: another
    /// process committed (`PRAGMA data_version`), or a shown log file grew. Cheap:
    /// one pragma and two `stat` calls.
    public func hasChanges(since snapshot: MonitorSnapshot) -> Bool {
        var changed = snapshot.error != nil
        do {
            let version = try reader.changeToken()
            if version != lastVersion { changed = true }
            lastVersion = version
        } catch {
            changed = true
        }
        if let log = snapshot.log, log.runID != 0,
           RunOutputTail.size(store: reader, jobID: log.jobID, runID: log.runID) != log.fileSize { changed = true }
        if let detail = snapshot.detail, detail.logRunID != 0,
           RunOutputTail.size(store: reader, jobID: detail.job.id, runID: detail.logRunID) != detail.logSize { changed = true }
        return changed
    }

    /// Releases the jobs of workers that died, so they are retried even when the
    /// console is the only queuectl process looking. Skipped with `--readonly`, and
    /// given up at once if another process holds the write lock.
    @discardableResult
    public func sweep(now: Timestamp = .now()) -> Bool {
        guard let store else { return false }
        let report = store.withWaitLimit(seconds: Self.sweepBusyTimeoutSeconds) { try? Recovery.sweepNotingInWorkerLog(store: store, now: now) }
        return !(report?.releasedWorkers.isEmpty ?? true) || !(report?.interrupted.isEmpty ?? true)
    }

    /// Reaps the processes this console started that have exited: the supervisors
    /// of worker pools started with `+` (or by `demo`), which exit once `-` or `S`
    /// stopped their workers. Otherwise each stays `<defunct>` until the console
    /// quits. Called on the thread that starts them, so never while a start waits
    /// for its own child.
    public func reapExitedChildren() {
        var status: Int32 = 0
        while waitpid(-1, &status, WNOHANG) > 0 {}
    }

    // MARK: Actions

    /// Carries out an effect; returns the one-line flash that says what happened.
    public func perform(_ effect: MonitorEffect) -> String {
        guard let store else { return "read-only: nothing was changed" }
        do {
            switch effect {
            case let .retry(ids):
                // Jobs retried meanwhile (by another console or the CLI) are skipped.
                let dead = ids.filter { (try? store.job(id: $0))?.state == .dead }
                let retried = dead.isEmpty ? 0 : try store.retryDead(ids: dead, now: .now()).count
                let skipped = ids.count - dead.count
                return Self.moved(retried) + (skipped > 0 ? " (\(skipped) no longer dead)" : "")
            case let .retryAllDead(count):
                // Only as many as the user confirmed: jobs dying meanwhile stay dead.
                var retried = 0
                while retried < count {
                    let page = try store.jobPage(JobListQuery(state: .dead), limit: min(Self.retryBatch, count - retried), offset: 0)
                    if page.jobs.isEmpty { break }
                    retried += try store.retryDead(ids: page.jobs.map(\.id), now: .now()).count
                }
                return Self.moved(retried)
            case .startWorker:
                let started = try supervisor.startBackground(count: 1)
                return "started worker \(started.map(\.id).joined(separator: ", "))"
            case let .stopWorker(id):
                _ = try supervisor.stop(workerIDs: [id], wait: false)
                return "stopping worker \(id) (it finishes its current job first)"
            case let .cancel(ids):
                // Jobs that became final meanwhile are skipped, not an error.
                let open = try store.jobs(ids: ids).filter { !$0.state.isFinal }.map(\.id)
                let report = open.isEmpty ? CancelReport() : try store.cancel(ids: open, now: .now())
                var text = "\(report.cancelled.count) cancelled"
                if !report.stopping.isEmpty { text += ", \(report.stopping.count) stopping" }
                if !report.dependents.isEmpty { text += ", \(report.dependents.count) dependent(s) cancelled" }
                return text + (ids.count > open.count ? " (\(ids.count - open.count) already final)" : "")
            case let .runNow(ids):
                let waiting = try store.jobs(ids: ids).filter { [.pending, .failed, .scheduled].contains($0.state) }.map(\.id)
                let moved = waiting.isEmpty ? 0 : try store.runNow(ids: waiting, now: .now()).count
                return "\(moved) job\(moved == 1 ? "" : "s") eligible now" + (ids.count > moved ? " (\(ids.count - moved) not pending or failed)" : "")
            case let .requeue(ids):
                let final = try store.jobs(ids: ids).filter(\.state.isFinal).map(\.id)
                let copies = final.isEmpty ? [] : try store.requeue(ids: final, now: .now())
                return "requeued \(copies.count) job\(copies.count == 1 ? "" : "s")" + (copies.count == 1 ? " as \(copies[0].id)" : "")
                    + (ids.count > final.count ? " (\(ids.count - final.count) not final)" : "")
            case .stopAllWorkers:
                let report = try supervisor.stop(workerIDs: nil, wait: false)
                let n = report.requested.count
                return "stopping \(n) worker\(n == 1 ? "" : "s") (each finishes its current job first)"
            case let .pauseQueue(name):
                try store.setPaused(true, queues: [name])
                return "paused queue \(name): no new job starts (one claimed ahead may still start within a second)"
            case let .resumeQueue(name):
                try store.setPaused(false, queues: [name])
                return "resumed queue \(name)"
            case let .setQueueLimit(name, limit):
                try store.setConcurrency(queue: name, limit)
                return limit.map { "queue \(name): at most \($0) running" } ?? "queue \(name): no limit"
            }
        } catch {
            return "failed: " + Self.message(error)
        }
    }

    private static func moved(_ n: Int) -> String { "\(n) job\(n == 1 ? "" : "s") → pending" }

    static func message(_ error: Error) -> String {
        (error as? QueueError)?.message ?? "\(error)"
    }
}
