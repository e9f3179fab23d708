import CQueueSys
import Foundation
import Logging
import QueueCore
import QueueStores

/// One worker process: claims jobs and runs them one at a time until asked to stop.
///
/// Lifecycle: register → loop { claim → run → record } → deregister. While runs are
/// short it claims several jobs per transaction and records their results together
/// (see ClaimAhead); a run that is not short settles both at once. A stop (SIGTERM,
/// SIGINT, `worker stop`) lets the current job finish and be recorded; a second
/// signal cancels it (recorded as `interrupted`, so it is retried). Results are
/// fenced on the lease: if recovery released this worker while it was stopped or
/// stalled, it kills its job and exits without writing anything.
public final class Worker {
    public let id: String
    /// Where this host keeps the queue's local files (see `JobReader.location`).
    private let location: DatabaseLocation
    private let store: any JobStore
    private let heartbeatStore: any JobStore
    private let runningFile: RunningJobFile
    private let environment = JobEnvironment()
    /// The queues this worker takes jobs from (nil: every queue).
    private let queues: [String]?
    private var logger: Logger
    /// What ``run()`` returns when recovery released this worker (it missed its
    /// lease, e.g. stopped or starved, or the database was locked for longer than
    /// the lease): the process is fine and may register again as a new worker.
    public static let releasedStatus: Int32 = 75

    /// Whether this process got SIGTERM, SIGINT or SIGHUP.
    public static var stopSignalReceived: Bool { qc_stop_signal_count() > 0 }

    /// How long an idle worker sleeps when nothing rings the doorbell.
    public static let idlePollSeconds = 1.0

    /// The stop generation this worker was started at (see
    /// `JobStore.registerWorker(_:unlessStoppedSince:)`); nil registers regardless.
    private let stopGeneration: Int64?

    public init(address: StoreAddress, queues: [String]? = nil, logger: Logger, stopGeneration: Int64? = nil) throws {
        self.queues = queues
        self.stopGeneration = stopGeneration
        self.logger = logger
        id = "w-" + JobID.generate().suffix(10).lowercased()
        self.logger[metadataKey: "worker"] = .string(id)
        // A worker never creates a queue (a deleted one stays deleted; see
        // Heartbeat); see StoreOpener.Use.worker.
        store = try StoreOpener.open(address, .worker)
        heartbeatStore = try StoreOpener.open(address, .heartbeat)
        location = store.location
        runningFile = try RunningJobFile(location: location, workerID: id)
    }

    /// Runs until stopped. Returns the process exit status.
    public func run() -> Int32 {
        var signalPipe: [Int32] = [-1, -1]
        var cancelPipe: [Int32] = [-1, -1]
        var terminatePipe: [Int32] = [-1, -1]
        guard qc_pipe_cloexec(&signalPipe) == 0, qc_pipe_cloexec(&cancelPipe) == 0, qc_pipe_cloexec(&terminatePipe) == 0 else {
            logger.critical("cannot create pipes: \(String(cString: strerror(errno)))")
            return 1
        }
        for fd in signalPipe + cancelPipe + terminatePipe { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        StopSignals.install(wakeFD: signalPipe[1])
        // Orphaned descendants of the jobs come to this process, which stops them
        // with their job and reaps them (see JobProcessTree).
        if !JobProcessTree.adoptOrphans() {
            logger.warning("cannot become a child subreaper (\(String(cString: strerror(errno)))): processes that leave a job's process group may outlive it")
        }
        // The heartbeat's store rings the bell: on PostgreSQL its connection carries
        // the LISTEN, so a worker holds two connections, not three.
        let bell = DoorbellListener(signal: (try? heartbeatStore.changeSignal(.work)), signalReadFD: signalPipe[0])

        let now = Timestamp.now()
        let record = WorkerRecord(id: id, pid: ProcessIdentity.currentPID, pidStartTicks: ProcessIdentity.currentStartTicks,
                                  hostname: ProcessIdentity.hostname, startedAt: now, heartbeatAt: now, queues: queues)
        if StopSignals.received {
            logger.info("stop signal received before this worker registered; exiting")
            runningFile.remove()
            return 0
        }
        do {
            if let stopGeneration {
                guard try store.registerWorker(record, unlessStoppedSince: stopGeneration) else {
                    logger.info("`worker stop` asked every worker to stop while this one was starting; exiting")
                    runningFile.remove()
                    return 0
                }
            } else {
                try store.registerWorker(record)
            }
        } catch {
            runningFile.remove()
            if StopSignals.received {
                logger.info("stop signal received while waiting for the database; exiting before registering")
                return 0
            }
            logger.critical("cannot register: \(error)")
            return 1
        }
        // Registered: from now on a stopping worker waits for the database (to
        // record its last result) however long another process holds it.
        StopSignals.interruptDatabaseWaits(false)
        logger.info("worker \(id) started (pid \(record.pid)) on \(store.displayAddress)\(queues.map { ", queues " + $0.joined(separator: ",") } ?? "")")
        // The heartbeat thread gets its own connection so its writes never queue
        // behind the main thread's.
        let heartbeat = Heartbeat(store: heartbeatStore, workerID: id, cancelWriteFD: cancelPipe[1],
                                  terminatePipe: (terminatePipe[0], terminatePipe[1]), logger: logger)
        heartbeat.start()

        var errorBackoff = 0.1
        var jobsDone = 0
        // Results of finished runs, recorded with the next transaction. They are kept
        // until stored: losing one would re-run its job.
        var unrecorded: [FinishedRun] = []
        // Jobs claimed ahead and not started yet, in claim order (see ClaimAhead).
        var ahead: [ClaimedJob] = []
        var aheadClaimedAt = 0.0
        var aheadLease = 10.0
        var batch = ClaimAhead()

        /// One settle (see `LeaseStore.settle`): records `unrecorded`, gives back `ahead`, claims up to
        /// `claimLimit` jobs. The count goes along only with a finished job, so an idle
        /// wake-up writes nothing.
        func settle(claimLimit: Int, givingBackBecause reason: String? = nil) throws -> Settlement {
            let doneAfter = unrecorded.isEmpty ? nil : jobsDone + unrecorded.count
            let settled = try store.settle(unrecorded, givingBack: ahead,
                                           request: ClaimRequest(workerID: id, limit: claimLimit, queues: queues, now: .now()),
                                           jobsDone: doneAfter)
            for (run, job) in zip(unrecorded, settled.finished) { logResult(run.claimed, run.result, job) }
            if let doneAfter {
                jobsDone = doneAfter
                heartbeat.setJobsDone(jobsDone)
            }
            if let reason, !ahead.isEmpty {
                logger.info("\(reason): gave back \(ahead.count) job\(ahead.count == 1 ? "" : "s") claimed ahead")
            }
            unrecorded = []
            ahead = []
            return settled
        }

        /// Runs one claimed job; false when this worker was released meanwhile.
        func run(_ claimed: ClaimedJob) -> Bool {
            // A run that is not short records what is owed right away: results wait
            // for no long run, and jobs claimed ahead go back to the other workers.
            var failureLogged = false
            let checkIn = RunCheckIn(after: ClaimAhead.shortRunSeconds) { [store, logger] in
                guard !unrecorded.isEmpty || !ahead.isEmpty else { return true }
                do {
                    _ = try store.withWaitLimit(seconds: 0.05) {
                        try settle(claimLimit: 0, givingBackBecause: "job \(claimed.job.id) still running after \(Int(ClaimAhead.shortRunSeconds * 1000)) ms")
                    }
                    return true
                } catch {
                    // Retried every 0.1 s during the run, and after it in any case.
                    if !failureLogged { logger.error("cannot record results during the run of job \(claimed.job.id): \(error); retrying") }
                    failureLogged = true
                    return false
                }
            }
            let began = Monotonic.now()
            if heartbeat.isCancelRequested(claimed.job.id) {
                // Claimed ahead and cancelled before it started: recorded without running.
                var result = RunResult(outcome: .cancelled, error: Cancellation.requestedReason)
                result.finishedAt = .now()
                unrecorded.append(FinishedRun(claimed: claimed, result: result))
                return true
            }
            heartbeat.setRunning(jobID: claimed.job.id)
            defer { heartbeat.setRunning(jobID: nil) }
            guard let result = execute(claimed, cancelReadFD: cancelPipe[0], signalReadFD: signalPipe[0],
                                       terminateReadFD: terminatePipe[0], heartbeat: heartbeat, checkIn: checkIn) else { return false }
            batch.record(runSeconds: Monotonic.now() - began)
            unrecorded.append(FinishedRun(claimed: claimed, result: result))
            return true
        }

        var released = false
        loop: while true {
            if heartbeat.mustAbandon { break }
            let stopping = qc_stop_signal_count() > 0
            if stopping && unrecorded.isEmpty && ahead.isEmpty { break }
            // The next job claimed ahead starts without a commit while this worker
            // certainly still holds it (see ClaimAhead.canStartAhead).
            let clock = Monotonic.now()
            if !stopping, !ahead.isEmpty,
               ClaimAhead.canStartAhead(claimAge: clock - aheadClaimedAt, heartbeatAge: clock - heartbeat.lastLanded,
                                        lease: aheadLease) {
                if !run(ahead.removeFirst()) { break }
                continue
            }
            do {
                let settled = try settle(claimLimit: stopping ? 0 : batch.limit,
                                         givingBackBecause: stopping ? "stopping" : "claim or last heartbeat too old to start jobs claimed ahead")
                errorBackoff = 0.1
                switch settled.next {
                case let .claimed(claimed):
                    batch.maximum = claimed.config.claimBatch
                    ahead = settled.ahead
                    aheadClaimedAt = Monotonic.now()
                    aheadLease = claimed.config.leaseTimeoutSeconds
                    if !run(claimed) { break loop }
                case .noJob:
                    if stopping { break loop }
                    let next = try store.nextRunAt()
                    let untilNext = next.map { max(0.001, $0.seconds(since: .now())) } ?? Self.idlePollSeconds
                    bell.wait(seconds: min(Self.idlePollSeconds, untilNext))
                case .stopRequested:
                    break loop
                case .workerReleased:
                    released = true
                    break loop
                }
            } catch {
                // Disk full, database locked for too long, read-only…: back off and retry.
                logger.error("\(error); retrying in \(errorBackoff) s")
                bell.wait(seconds: errorBackoff)
                errorBackoff = min(5, errorBackoff * 2)
            }
        }
        heartbeat.stop()
        runningFile.remove()
        if let change = heartbeat.databaseGone {
            // Exit 0: a supervisor must not restart it against a database that is gone.
            logger.warning("worker \(id) stopped after \(jobsDone) job\(jobsDone == 1 ? "" : "s"): \(change)")
            return 0
        }
        if released || heartbeat.wasReleased {
            logger.warning("worker \(id) was released by recovery (presumed dead); its run, if any, was abandoned unrecorded")
            return Self.releasedStatus
        }
        do {
            try store.deregisterWorker(id: id)
        } catch {
            logger.error("cannot deregister: \(error)")
        }
        logger.info("worker \(id) stopped after \(jobsDone) job\(jobsDone == 1 ? "" : "s")")
        return 0
    }

    /// Runs a claimed job; nil when this worker was released meanwhile (the result
    /// must not be recorded).
    private func execute(_ claimed: ClaimedJob, cancelReadFD: Int32, signalReadFD: Int32, terminateReadFD: Int32, heartbeat: Heartbeat,
                         checkIn: RunCheckIn) -> RunResult? {
        let job = claimed.job
        var runner = CommandRunner(
            logPath: location.runLogPath(jobID: job.id, runID: claimed.runID),
            outputLimit: claimed.config.outputLimitBytes,
            timeout: claimed.effectiveTimeout,
            killGrace: claimed.config.killGraceSeconds,
            environment: environment,
            runVariables: ["QUEUECTL_JOB_ID=\(job.id)", "QUEUECTL_ATTEMPT=\(job.attempts)"])
        runner.workingDirectory = job.options.cwd
        runner.jobVariables = job.options.env
        // A second stop signal during the run cancels it (the first lets it finish).
        let signalsAtStart = qc_stop_signal_count()
        let cancel = CancelSources(cancelFD: cancelReadFD, signalFD: signalReadFD, terminateFD: terminateReadFD) {
            let count = qc_stop_signal_count()
            return count >= 2 && count > signalsAtStart
        }
        var spawned: (pid: Int, ticks: Int64, at: Timestamp)?
        logger.info("job \(job.id) attempt \(job.attempts) started: \(Self.loggable(job.command))")
        runningFile.started(runID: claimed.runID)
        heartbeat.output.setRun(jobID: job.id, runID: claimed.runID, path: location.runLogPath(jobID: job.id, runID: claimed.runID))
        let report = runner.run(job.command, cancel: cancel, checkIn: checkIn) { pid, ticks in
            spawned = (pid, ticks, .now())
            runningFile.publish(runID: claimed.runID, pid: pid, startTicks: ticks)
        }
        runningFile.started(runID: claimed.runID)
        drainPipe(cancelReadFD)
        if heartbeat.mustAbandon { return nil }
        do {
            try heartbeat.output.ship(to: store, final: true)
        } catch {
            logger.warning("job \(job.id) attempt \(job.attempts): cannot copy its output to the database: \(error)")
        }
        var result = report.result
        if let lost = result.outputLost {
            logger.warning("job \(job.id) attempt \(job.attempts): \(lost)")
        }
        result.pid = spawned?.pid
        result.pidStartTicks = spawned?.ticks
        result.startedAt = spawned?.at
        result.finishedAt = .now()
        if report.cancelled { result.error = "worker stopped by a second signal during the run" }
        return result
    }

    private func logResult(_ claimed: ClaimedJob, _ result: RunResult, _ updated: Job?) {
        let job = claimed.job
        guard let updated else {
            logger.warning("job \(job.id) attempt \(job.attempts): lease lost before the result was recorded; result discarded")
            return
        }
        let took = (result.finishedAt ?? updated.updatedAt).seconds(since: result.startedAt ?? job.updatedAt)
        logger.info("job \(job.id) attempt \(job.attempts): \(result.outcome.rawValue) in \(took) s → \(updated.state.rawValue)\(result.error.map { " (\($0))" } ?? "")")
    }

    /// The most characters of a command the log shows.
    static let loggedCommandLimit = 200

    /// A command as the log shows it: on one line, control characters visible
    /// (`SafeText.visible`: `\n` as `␊`, ESC as `␛`), cut at ``loggedCommandLimit``
    /// characters with `…`.
    static func loggable(_ command: String) -> String {
        let visible = SafeText.visible(command)
        return visible.count > loggedCommandLimit ? String(visible.prefix(loggedCommandLimit)) + "…" : visible
    }

    private func drainPipe(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(fd, &buffer, buffer.count) > 0 {}
    }
}
