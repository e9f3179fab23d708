import CQueueSys
import Foundation
import QueueCore
import QueueStores

/// Starts and stops worker processes of one database, from any directory or
/// terminal: workers are found through the `workers` table, never through pid files.
///
/// Every started pool has a supervisor process that keeps its worker count (see
/// ``supervise(count:stopGeneration:detached:log:)``): `worker start --foreground`
/// is one; `worker start` runs one in the background.
public struct WorkerSupervisor: Sendable {
    public let address: StoreAddress
    public let executable: String
    /// Queues the started workers serve (nil: every queue).
    public var queues: [String]?

    /// What `stop` observed.
    public struct StopReport: Sendable, Equatable {
        /// Workers that were asked to stop.
        public var requested: [WorkerRecord] = []
        /// Workers found dead and released instead.
        public var released: [String] = []
        /// Workers still running when the wait ended.
        public var stillRunning: [WorkerRecord] = []
    }

    public init(address: StoreAddress, executable: String = ProcessIdentity.currentExecutable) {
        self.address = address
        self.executable = executable
    }

    /// `--queue a,b` for the processes this starts, when they serve some queues only.
    private var queueArguments: [String] { queues.map { ["--queue", $0.joined(separator: ",")] } ?? [] }

    /// Starts a background pool of `count` workers: a detached supervisor process
    /// (own session, output to `<db>-logs/workers.log`) that starts them and restarts
    /// those that crash. Returns once each has registered.
    public func startBackground(count: Int, timeout: Double = 15) throws -> [WorkerRecord] {
        let store = try StoreOpener.open(address, .supervisor)
        let location = store.location
        try location.prepareLogsFolder()
        let generation = try store.stopGeneration()
        let logFD = try PrivateFolder.openFile(location.workerLogPath, .append)
        defer { close(logFD) }
        let supervisor = try spawn([executable, "worker", "supervise", "--db", address.argument,
                                    "--count", String(count), "--stop-generation", String(generation)] + queueArguments,
                                   stdout: logFD, deathSignal: 0, newSession: true)
        return try awaitPool(of: supervisor, count: count, generation: generation, store: store, timeout: timeout)
    }

    /// Waits until `count` workers started by `supervisor` have registered.
    private func awaitPool(of supervisor: pid_t, count: Int, generation: Int64, store: any JobStore,
                           timeout: Double) throws -> [WorkerRecord] {
        let deadline = Monotonic.now() + timeout
        while true {
            let pool = try store.workers().filter { ProcessIdentity.status(of: $0.pid)?.parentPID == Int(supervisor) }
            if pool.count >= count { return pool }
            var status: Int32 = 0
            if waitpid(supervisor, &status, WNOHANG) == supervisor {
                if try store.stopGeneration() != generation {
                    throw QueueError.runtime("`worker stop` asked every worker to stop while these were starting; none is left running")
                }
                throw QueueError.runtime("the workers' supervisor (pid \(supervisor)) exited during start-up; see \(store.location.workerLogPath)")
            }
            if Monotonic.now() > deadline {
                throw QueueError.runtime("workers did not register within \(Int(timeout)) s; see \(store.location.workerLogPath)")
            }
            usleep(10_000)
        }
    }

    private func spawn(_ argv: [String], stdout: Int32, deathSignal: Int32, newSession: Bool) throws -> pid_t {
        let env = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let pid = withCStrings(argv) { argvPtr in
            withCStrings(env) { envPtr in
                var options = qc_spawn_options(stdin_fd: -1, stdout_fd: stdout, stderr_fd: stdout, death_signal: deathSignal,
                                               new_session: newSession ? 1 : 0, working_directory: nil)
                return qc_spawn(executable, argvPtr, envPtr, &options)
            }
        }
        guard pid > 0 else { throw QueueError.runtime("cannot start \(executable): \(String(cString: strerror(errno)))") }
        return pid
    }

    /// Asks workers (all of this database's, or the given ids) to stop: each finishes
    /// its current job, records it, deregisters and exits. A stop of all also reaches
    /// workers still starting (they check the stop generation when they register)
    /// and ends their supervisors. Dead workers found on the way are released. With
    /// `wait`, returns once they (and their supervisors) are gone or `timeout` passed.
    public func stop(workerIDs: [String]? = nil, wait: Bool = true, timeout: Double = 30) throws -> StopReport {
        let store = try StoreOpener.open(address, .service)
        var report = StopReport()
        report.released = try Recovery.sweepNotingInWorkerLog(store: store).releasedWorkers
        // A worker already asked to stop got its SIGTERM then; a second one would cancel
        // its running job (see StopSignals), which asking again never means.
        let alreadyAsked = Set(try store.workers().filter(\.stopRequested).map(\.id))
        let targets: [WorkerRecord]
        if let workerIDs {
            targets = try store.workers().filter { workerIDs.contains($0.id) }
            if !targets.isEmpty { try store.requestStop(workerIDs: targets.map(\.id)) }
        } else {
            targets = try store.requestStopOfAllWorkers()
        }
        report.requested = targets
        guard !targets.isEmpty else { return report }
        let local = targets.filter { $0.hostname == ProcessIdentity.hostname }
        // Supervisors exit once their last worker has; a stop of all waits for them too.
        let supervisors = workerIDs == nil ? Set(local.compactMap { supervisorOf($0) }) : []
        for worker in local where !alreadyAsked.contains(worker.id) {
            ProcessIdentity.signalProcess(pid: worker.pid, startTicks: worker.pidStartTicks, signal: SIGTERM)
        }
        store.ringWorkers()
        guard wait else { return report }
        let deadline = Monotonic.now() + timeout
        var remaining = targets
        while true {
            let registered = Set(try store.workers().map(\.id))
            remaining = remaining.filter { w in
                registered.contains(w.id) && (w.hostname != ProcessIdentity.hostname || ProcessIdentity.isAlive(pid: w.pid, startTicks: w.pidStartTicks))
            }
            let supervising = supervisors.contains { ProcessIdentity.isAlive(pid: $0.pid, startTicks: $0.startTicks) }
            if (remaining.isEmpty && !supervising) || Monotonic.now() > deadline { break }
            usleep(20_000)
        }
        // A worker that exited without deregistering (crashed) is released now.
        try Recovery.sweepNotingInWorkerLog(store: store)
        report.stillRunning = try store.workers().filter { w in remaining.contains { $0.id == w.id } }
        return report
    }

    /// A process identified by pid and start time.
    private struct ProcessRef: Hashable {
        var pid: Int
        var startTicks: Int64
    }

    /// The supervisor of a local worker: its parent, when that runs the same
    /// program (not PID 1 or a shell that ran `worker run` itself).
    private func supervisorOf(_ worker: WorkerRecord) -> ProcessRef? {
        guard let parent = ProcessIdentity.status(of: worker.pid)?.parentPID, parent > 1, parent != ProcessIdentity.currentPID,
              let ticks = ProcessIdentity.startTicks(of: parent),
              let program = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(parent)/exe"),
              program == (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(worker.pid)/exe")) else { return nil }
        return ProcessRef(pid: parent, startTicks: ticks)
    }

    // MARK: Supervising

    /// Runs `count` workers as children of this process and keeps that many running
    /// until stopped: the supervisor of `worker start --foreground` (attached, for
    /// systemd or a container) and of `worker start` (detached, `detached: true`).
    ///
    /// - A worker that crashes is restarted after a backoff (0.5 s, doubling with each
    ///   crash in the last ten minutes, at most a minute); its job is released at once
    ///   (a recovery sweep) and the log says which. A worker that exits on its own
    ///   (stopped by `worker stop --id`, the console's `-`) is not replaced.
    /// - SIGINT/SIGTERM/SIGHUP, or a `worker stop` of every worker (the stop
    ///   generation moved past `stopGeneration`), stop the pool gracefully: each
    ///   worker finishes its current job first. Returns when all have exited.
    /// - It adopts orphans: what a dead worker's job left running is re-parented here
    ///   and killed (see JobProcessTree.killAdopted).
    public func supervise(count: Int, stopGeneration: Int64, detached: Bool, log: (String) -> Void) throws -> Int32 {
        let store = try StoreOpener.open(address, .supervisor)
        try store.location.prepareLogsFolder()
        var signalPipe: [Int32] = [-1, -1]
        guard qc_pipe_cloexec(&signalPipe) == 0 else { throw QueueError.runtime("cannot create a pipe") }
        _ = fcntl(signalPipe[1], F_SETFL, fcntl(signalPipe[1], F_GETFL) | O_NONBLOCK)
        _ = fcntl(signalPipe[0], F_SETFL, fcntl(signalPipe[0], F_GETFL) | O_NONBLOCK)
        StopSignals.install(wakeFD: signalPipe[1])
        JobProcessTree.adoptOrphans()
        var pool = SupervisedPool(count: count, stopGeneration: stopGeneration)
        let argv = [executable, "worker", "run", "--db", address.argument, "--stop-generation", String(stopGeneration)] + queueArguments
        // Attached workers get SIGTERM (a graceful stop) if this supervisor dies;
        // detached ones keep running (`worker stop` still reaches them).
        let deathSignal = detached ? 0 : SIGTERM
        func startWorker() {
            do {
                pool.started(try spawn(argv, stdout: 2, deathSignal: deathSignal, newSession: false))
            } catch {
                log("\(error); trying again in \(Self.seconds(pool.crashed()))")
            }
        }
        for _ in 0..<count { startWorker() }
        if detached { log("supervisor pid \(getpid()) keeps \(count) worker(s) running; `worker stop` stops them and it") }
        // The stop generation matters only for a restart that is due (a worker that
        // is stopped exits cleanly and is not replaced): once a second is enough.
        var generationCheckedAt = Monotonic.now()
        while pool.isActive {
            var fd = pollfd(fd: signalPipe[0], events: Int16(POLLIN), revents: 0)
            _ = poll(&fd, 1, 200)
            var scratch = [UInt8](repeating: 0, count: 16)
            while read(signalPipe[0], &scratch, scratch.count) > 0 {}
            if !pool.stopping {
                if StopSignals.received {
                    pool.stopping = true
                    log("stopping \(pool.children.count) worker(s) gracefully; they finish their current job first")
                } else if Monotonic.now() - generationCheckedAt >= 1 {
                    generationCheckedAt = Monotonic.now()
                    if let current = try? store.stopGeneration(), current != stopGeneration {
                        pool.stopping = true
                        log("`worker stop` asked every worker to stop; this supervisor exits with its workers")
                    }
                }
            }
            let registered = pool.needsRegistrations ? ((try? store.workers()) ?? []) : []
            // (A detached pool's workers log their own start to the same file.)
            for worker in registered { if let line = pool.registered(worker), !detached { log(line) } }
            if pool.stopping { askToStop(&pool, store: store) }
            for pid in Array(pool.children.keys) {
                var status: Int32 = 0
                guard waitpid(pid, &status, WNOHANG) == pid else { continue }
                // A crash right after registering may come before this loop saw it;
                // the row is still there (a crashed worker does not deregister).
                let id = pool.exited(pid) ?? (try? store.workers())?.first { $0.pid == Int(pid) }?.id
                let clean = qc_wifexited(status) != 0 && qc_wexitstatus(status) == 0
                guard !clean, !pool.stopping else { continue }
                if qc_wifexited(status) != 0 && qc_wexitstatus(status) == QueueError.Kind.notFound.exitStatus {
                    // The worker found no queue to open (its file deleted, its schema
                    // dropped): a replacement would find none either.
                    log("worker pid \(pid) found no queue at \(address.argument); not replacing it")
                    continue
                }
                let how = qc_wifsignaled(status) != 0
                    ? "was killed by signal \(qc_wtermsig(status)) (\(CommandRunner.signalName(Int(qc_wtermsig(status)))))"
                    : "exited with status \(qc_wexitstatus(status))"
                log("worker \(id.map { "\($0) " } ?? "")pid \(pid) \(how); starting a replacement in \(Self.seconds(pool.crashed()))")
                // Release its job now rather than at the next heartbeat of another
                // worker (there may be none), and kill what the job left running.
                if let report = try? Recovery.sweep(store: store) {
                    for line in Heartbeat.describe(report) { log(line) }
                }
            }
            let killed = JobProcessTree.killAdopted(keeping: Set(pool.children.keys))
            if killed > 0 { log("killed \(killed) process\(killed == 1 ? "" : "es") left running by a dead worker's job") }
            while pool.restartDue() { startWorker() }
        }
        log("all workers stopped")
        return 0
    }

    /// Asks the pool's registered workers to stop (the database flag and the
    /// doorbell: a signal could be a second one, which cancels the running job) and
    /// signals the ones not registered yet (they hold no job).
    private func askToStop(_ pool: inout SupervisedPool, store: any JobStore) {
        let ids = pool.idsToAsk()
        if !ids.isEmpty, (try? store.requestStop(workerIDs: ids)) != nil {
            pool.asked(ids)
            store.ringWorkers()
        }
        for pid in pool.unregisteredToSignal() { kill(pid, SIGTERM) }
    }

    private static func seconds(_ value: Double) -> String {
        value.rounded() == value ? "\(Int(value)) s" : "\(value) s"
    }
}

/// The supervisor's book of its workers: which run, which registered under which
/// id, which were asked to stop, and when crashed ones are due to restart.
struct SupervisedPool {
    struct Child {
        var id: String?
        var asked = false
        var signalled = false
    }

    let count: Int
    let stopGeneration: Int64
    var children: [pid_t: Child] = [:]
    var stopping = false {
        didSet { if stopping { restarts = [] } }
    }
    /// Monotonic times when crashed workers are due to be replaced.
    private var restarts: [Double] = []
    private var crashes: [Double] = []

    init(count: Int, stopGeneration: Int64) {
        self.count = count
        self.stopGeneration = stopGeneration
    }

    /// Running, or a replacement is due.
    var isActive: Bool { !children.isEmpty || !restarts.isEmpty }

    var needsRegistrations: Bool { children.values.contains { $0.id == nil } || stopping }

    mutating func started(_ pid: pid_t) { children[pid] = Child() }

    /// Records a registration; returns the line to log the first time.
    mutating func registered(_ worker: WorkerRecord) -> String? {
        let pid = pid_t(worker.pid)
        guard var child = children[pid], child.id == nil else { return nil }
        child.id = worker.id
        children[pid] = child
        return "worker \(worker.id) started (pid \(pid))"
    }

    /// Forgets an exited worker; returns its id if it had registered.
    mutating func exited(_ pid: pid_t) -> String? { children.removeValue(forKey: pid)?.id }

    /// Records a crash and schedules the replacement; returns its delay in seconds.
    mutating func crashed(now: Double = Monotonic.now()) -> Double {
        crashes = crashes.filter { now - $0 < 600 } + [now]
        let delay = min(60, 0.5 * pow(2, Double(crashes.count - 1)))
        restarts.append(now + delay)
        return delay
    }

    /// Takes one due restart, if any (never while stopping).
    mutating func restartDue(now: Double = Monotonic.now()) -> Bool {
        guard !stopping, let index = restarts.firstIndex(where: { $0 <= now }) else { return false }
        restarts.remove(at: index)
        return true
    }

    func idsToAsk() -> [String] { children.values.compactMap { $0.asked ? nil : $0.id } }

    mutating func asked(_ ids: [String]) {
        for (pid, child) in children where child.id.map(ids.contains) == true { children[pid]?.asked = true }
    }

    /// Workers not registered yet and not signalled yet; marks them signalled.
    mutating func unregisteredToSignal() -> [pid_t] {
        let pids = children.filter { $0.value.id == nil && !$0.value.signalled }.map(\.key)
        for pid in pids { children[pid]?.signalled = true }
        return pids
    }
}
