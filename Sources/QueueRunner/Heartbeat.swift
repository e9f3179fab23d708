import Foundation
import Logging
import QueueCore

/// The worker's second thread: refreshes the worker's heartbeat, notices when the
/// worker has been released (then cancels the running job so a stale worker never
/// competes with the new lease holder) or its database file deleted or replaced
/// (then cancels it too: its result could reach no one), passes on a user's cancel
/// of the running job (each beat reads the cancels requested for the jobs this
/// worker holds), and sweeps for dead workers.
final class Heartbeat: @unchecked Sendable {
    private let store: any JobStore
    private let workerID: String
    private let cancelWriteFD: Int32
    private let logger: Logger
    private let lock = NSLock()
    private var stopped = false
    private var released = false
    private var databaseChange: String?
    private var jobsDone = 0
    private var landedAt = Monotonic.now()
    private var thread: Thread?
    /// Written (one byte) when the running job's cancel is requested.
    private let terminateWriteFD: Int32
    private let terminateReadFD: Int32
    private var runningJobID: String?
    private var terminateSent = false
    private var cancelRequested: Set<String> = []
    /// Ships the running job's output with each beat (see OutputShipper).
    let output: OutputShipper

    init(store: any JobStore, workerID: String, cancelWriteFD: Int32, terminatePipe: (read: Int32, write: Int32), logger: Logger) {
        self.store = store
        self.workerID = workerID
        self.cancelWriteFD = cancelWriteFD
        self.terminateReadFD = terminatePipe.read
        self.terminateWriteFD = terminatePipe.write
        self.logger = logger
        output = OutputShipper(workerID: workerID)
    }

    /// Tells the thread which job runs now (nil between runs). Under the same lock
    /// as the beat that signals a cancel, so a byte in the pipe is always for the
    /// job that runs: leftovers are drained here.
    func setRunning(jobID: String?) {
        lock.withLock {
            var buffer = [UInt8](repeating: 0, count: 16)
            while read(terminateReadFD, &buffer, buffer.count) > 0 {}
            runningJobID = jobID
            terminateSent = false
            if let jobID, cancelRequested.contains(jobID) { signalTerminate() }
        }
    }

    /// Whether the last beat saw a cancel requested for `jobID` (a job claimed
    /// ahead that need not start).
    func isCancelRequested(_ jobID: String) -> Bool { lock.withLock { cancelRequested.contains(jobID) } }

    /// Called with `lock` held.
    private func signalTerminate() {
        guard !terminateSent else { return }
        terminateSent = true
        var byte: UInt8 = 1
        _ = write(terminateWriteFD, &byte, 1)
    }

    /// True once recovery released this worker (its row is gone).
    var wasReleased: Bool { lock.withLock { released } }

    /// Set once the database file was deleted or replaced: how (see
    /// DatabaseFileIdentity).
    var databaseGone: String? { lock.withLock { databaseChange } }

    /// True once the worker must abandon its run and stop writing (released, or
    /// its database gone).
    var mustAbandon: Bool { lock.withLock { released || databaseChange != nil } }

    /// When this worker's last heartbeat landed (its registration at first), in
    /// monotonic seconds.
    var lastLanded: Double { lock.withLock { landedAt } }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "queuectl-heartbeat"
        self.thread = thread
        thread.start()
    }

    func stop() { lock.withLock { stopped = true } }

    /// The worker's count of finished jobs, stored with each heartbeat (the per-job
    /// commits leave the worker's row alone).
    func setJobsDone(_ count: Int) { lock.withLock { jobsDone = count } }

    /// How often the thread wakes; heartbeats go out every few ticks, and one tick
    /// after a failed one.
    static let tickSeconds = 0.25

    /// How often a heartbeat that keeps failing is logged again.
    static let failureLogSeconds = 30.0

    /// Seconds between heartbeats: several per lease, and never more than 0.4 s
    /// however long the lease, because `lease-timeout` may be lowered to 1 s at any
    /// moment: a worker keeps its old rhythm until its next beat, and a beat 2 s
    /// apart (lease/5 of the default) made every busy worker look dead to the first
    /// sweep after the change. At most 0.4 s + one tick between beats stays under
    /// the shortest lease. (A beat is one small write: 2.5 a second per worker.)
    static func beatSeconds(lease: Double) -> Double { min(0.4, max(0.2, lease / 5)) }

    private func loop() {
        var nextBeat = 0.0
        var lease = 10.0
        // Until when this thread leaves late heartbeats of others alone after an
        // outage of its own.
        var graceUntil = 0.0
        var retention = Retention()
        // A failing heartbeat is retried every tick; it is logged when it starts
        // failing, then at most every `failureLogSeconds`, and once when it lands again
        // (an outage of the database must not fill the log with a line per tick).
        var failingSince: Double?
        var failureLoggedAt = 0.0
        while !lock.withLock({ stopped }) {
            if Monotonic.now() < nextBeat {
                Thread.sleep(forTimeInterval: Self.tickSeconds)
                continue
            }
            // Several beats per lease, so one slow beat does not cost the lease; after
            // a failed beat (database locked, disk full) the next try is one tick away.
            nextBeat = Monotonic.now() + Self.tickSeconds
            if let change = store.storageLost() {
                logger.critical("\(change); stopping this worker (its jobs and results could reach no one) and cancelling its run")
                lock.withLock { databaseChange = change }
                var byte: UInt8 = 1
                _ = write(cancelWriteFD, &byte, 1)
                return
            }
            do {
                let config = try store.config()
                lease = config.leaseTimeoutSeconds
                guard let (now, cancels) = try store.heartbeat(workerID: workerID, jobsDone: lock.withLock { jobsDone }) else {
                    if lock.withLock({ stopped }) { return }   // deregistered on purpose
                    logger.warning("worker released by recovery (no heartbeat recorded within lease); abandoning current run")
                    lock.withLock { released = true }
                    var byte: UInt8 = 1
                    _ = write(cancelWriteFD, &byte, 1)
                    return
                }
                lock.withLock {
                    cancelRequested = Set(cancels)
                    if let runningJobID, cancelRequested.contains(runningJobID) {
                        if !terminateSent { logger.info("job \(runningJobID): cancel requested; stopping its run") }
                        signalTerminate()
                    }
                }
                let landed = Monotonic.now()
                if let since = failingSince {
                    logger.info("heartbeat: recorded again after \(DurationText.format(landed - since)) of failures")
                    failingSince = nil
                }
                let previous = lock.withLock { () -> Double in
                    defer { landedAt = landed }
                    return landedAt
                }
                // Unable to write for longer than a lease: so were the others. Give
                // their queued heartbeats a lease to land before judging them.
                if landed - previous > lease { graceUntil = landed + lease }
                nextBeat = landed + Self.beatSeconds(lease: lease)
                do {
                    try output.ship(to: store)
                } catch {
                    logger.warning("cannot copy the running job's output to the database: \(error); trying again")
                }
                let report = try Recovery.sweep(store: store, now: now, judgingLeases: landed >= graceUntil)
                for line in Self.describe(report) { logger.warning("\(line)") }
                retention.tick(store: store, config: config, logger: logger)
            } catch {
                let now = Monotonic.now()
                if failingSince == nil {
                    failingSince = now
                    failureLoggedAt = now
                    logger.error("heartbeat: \(error); retrying every \(Self.tickSeconds) s")
                } else if now - failureLoggedAt >= Self.failureLogSeconds {
                    failureLoggedAt = now
                    logger.error("heartbeat: still failing after \(DurationText.format(now - failingSince!)): \(error)")
                }
            }
            Thread.sleep(forTimeInterval: Self.tickSeconds)
        }
    }

    /// One log line per worker a sweep released (and one for orphaned jobs).
    static func describe(_ report: Recovery.Report) -> [String] {
        var lines: [String] = []
        for worker in report.releasedWorkers {
            let runs = report.interrupted.filter { $0.workerID == worker }
            let started = runs.filter(\.started).map(\.jobID)
            let givenBack = runs.count - started.count
            var line = "released worker \(worker) (presumed dead): "
            line += started.isEmpty ? "no run interrupted" : "interrupted the run of job \(started.joined(separator: ", job "))"
            if givenBack > 0 { line += "; gave back \(givenBack) job\(givenBack == 1 ? "" : "s") it had claimed ahead" }
            lines.append(line)
        }
        let orphans = report.interrupted.filter { !report.releasedWorkers.contains($0.workerID) }
        if !orphans.isEmpty {
            lines.append("released \(orphans.count) processing job\(orphans.count == 1 ? "" : "s") whose worker is gone: \(orphans.map(\.jobID).joined(separator: ", "))")
        }
        return lines
    }
}
