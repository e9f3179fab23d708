import Glibc
import Foundation
import GRDB
import QueueCore

/// The parts of the store capabilities (`JobReader`, `JobQueueing`, `LeaseStore`)
/// that on SQLite are the files beside the database: output files, the doorbell,
/// inotify on the write-ahead log.
extension SQLiteJobStore {
    public var displayAddress: String { location.databasePath }
    public var engine: String { "sqlite " + Self.engineVersion }

    public func jobIDs(startingWith prefix: String, state: JobState?, limit: Int) throws -> [String] {
        try Self.jobIDs(at: location, startingWith: prefix, state: state, limit: limit)
    }

    /// A run's output is its file beside the database, written by the worker as the
    /// run goes (capped by `output-limit`); `output_lost` in the history says why
    /// part of it is missing.
    public func runOutput(jobID: String, runID: Int64, from offset: Int64, limit: Int) throws -> RunOutput {
        let lost = try read { db in
            try String.fetchOne(db, sql: "SELECT output_lost FROM runs WHERE id = ?", arguments: [runID])
        }
        // Never through a planted link (see OwnedFile).
        guard let fd = try? OwnedFile.open(location.runLogPath(jobID: jobID, runID: runID), .read) else {
            return RunOutput(bytes: [], total: 0, lost: lost, exists: false)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            return RunOutput(bytes: [], total: 0, lost: lost, exists: false)
        }
        let total = Int64(info.st_size)
        let count = max(0, min(Int64(limit), total - offset))
        var bytes = [UInt8](repeating: 0, count: Int(count))
        let got = count == 0 ? 0 : bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(count), off_t(offset)) }
        return RunOutput(bytes: Array(bytes.prefix(max(0, got))), total: total, lost: lost)
    }

    public func changeToken() throws -> Int64 { try dataVersion() }

    /// inotify on the write-ahead log (every commit by any process writes to it)
    /// and the doorbell for `.anyChange`; the doorbell alone for `.work`.
    public func changeSignal(_ kind: ChangeSignal.Kind) throws -> ChangeSignal {
        if kind == .work, let bell = try? Doorbell.open(location) { close(bell) }
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return ChangeSignal(fd: -1, drain: {}, close: {}) }
        switch kind {
        case .work:
            if inotify_add_watch(fd, location.bellPath, UInt32(IN_MODIFY | IN_ATTRIB | IN_DONT_FOLLOW)) < 0 {
                close(fd)
                return ChangeSignal(fd: -1, drain: {}, close: {})
            }
        case .anyChange, .anyChangeOrOutput:
            var paths = [location.databasePath + "-wal", location.bellPath]
            if kind == .anyChangeOrOutput { paths.append(location.logsDirectory) }
            for path in paths {
                _ = inotify_add_watch(fd, path, UInt32(IN_MODIFY | IN_ATTRIB | IN_CREATE))
            }
        }
        return ChangeSignal(fd: fd, drain: {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while Glibc.read(fd, &buffer, buffer.count) > 0 {}
        }, close: { close(fd) })
    }

    public func withWaitLimit<T>(seconds: Double, _ body: () throws -> T) rethrows -> T {
        try withBusyTimeout(seconds: seconds, body)
    }

    public func ringWorkers() { Doorbell.ring(location) }

    public func claim(_ request: ClaimRequest) throws -> ClaimOutcome {
        if request.limit <= 1 { return try claim(workerID: request.workerID, queues: request.queues, now: request.now) }
        return try settle([], givingBack: [], request: request, jobsDone: nil).next
    }

    public func settle(_ results: [FinishedRun], givingBack unstarted: [ClaimedJob], request: ClaimRequest,
                       jobsDone: Int?) throws -> Settlement {
        try settle(results, givingBack: unstarted, workerID: request.workerID, queues: request.queues,
                   claimLimit: request.limit, jobsDone: jobsDone, now: request.now)
    }

    public func heartbeat(workerID: String, jobsDone: Int) throws -> (at: Timestamp, cancelled: [String])? {
        try heartbeatReportingCancels(workerID: workerID, jobsDone: jobsDone)
    }

    /// The output file beside the database is the record: nothing to copy.
    public var keepsOutputInDatabase: Bool { false }

    public func appendOutput(runID: Int64, workerID: String, bytes: [UInt8], at offset: Int64) throws {}

    /// Every worker of a SQLite queue is on this host, so this host's clock judges.
    public func expiredWorkers(leaseTimeout: Double, now: Timestamp) throws -> [(worker: WorkerRecord, silentFor: Double)] {
        try workers().compactMap { worker in
            let silent = now.seconds(since: worker.heartbeatAt)
            return silent > leaseTimeout ? (worker, silent) : nil
        }
    }

    public func storageLost() -> String? {
        fileIdentity.flatMap { $0.change(at: location.databasePath) }.map { "database file \(location.databasePath) \($0)" }
    }
}
