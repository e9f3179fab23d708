import CQueueSys
import Foundation
import QueueCore

/// Starts and stops worker processes of one database, from any directory or
/// terminal: workers are found through the `workers` table, never through pid files.
public struct WorkerSupervisor: Sendable {
    public let location: DatabaseLocation
    public let executable: String

    /// What `stop` observed.
    public struct StopReport: Sendable, Equatable {
        /// Workers that were asked to stop.
        public var requested: [WorkerRecord] = []
        /// Workers found dead and released instead.
        public var released: [String] = []
        /// Workers still running when the wait ended.
        public var stillRunning: [WorkerRecord] = []
    }

    public init(location: DatabaseLocation, executable: String = ProcessIdentity.currentExecutable) {
        self.location = location
        self.executable = executable
    }

    private func workerArguments() -> [String] {
        [executable, "worker", "run", "--db", location.databasePath]
    }

    /// Starts `count` detached worker processes (own session, output to
    /// `<db>-logs/workers.log`) and waits until each has registered.
    public func startBackground(count: Int, timeout: Double = 15) throws -> [WorkerRecord] {
        try location.checkOwnedDatabase()
        try location.prepareLogsFolder()
        let logFD = try PrivateFolder.openFile(location.workerLogPath, .append)
        defer { close(logFD) }
        var pids: [pid_t] = []
        for _ in 0..<count {
            let pid = try spawnWorker(stdout: logFD, deathSignal: 0, newSession: true)
            pids.append(pid)
        }
        return try awaitRegistration(pids: pids, timeout: timeout, reapChildren: true)
    }

    func spawnWorker(stdout: Int32, deathSignal: Int32, newSession: Bool) throws -> pid_t {
        let argv = workerArguments()
        let env = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let pid = withCStrings(argv) { argvPtr in
            withCStrings(env) { envPtr in
                var options = qc_spawn_options(stdin_fd: -1, stdout_fd: stdout, stderr_fd: stdout, death_signal: deathSignal,
                                               new_session: newSession ? 1 : 0, working_directory: nil)
                return qc_spawn(executable, argvPtr, envPtr, &options)
            }
        }
        guard pid > 0 else { throw QueueError.runtime("cannot start worker \(executable): \(String(cString: strerror(errno)))") }
        return pid
    }

    /// Waits until every pid has a row in `workers`; fails if one exits first.
    func awaitRegistration(pids: [pid_t], timeout: Double, reapChildren: Bool) throws -> [WorkerRecord] {
        let store = try SQLiteJobStore(location: location)
        let deadline = Monotonic.now() + timeout
        var found: [pid_t: WorkerRecord] = [:]
        while true {
            for worker in try store.workers() where pids.contains(pid_t(worker.pid)) {
                found[pid_t(worker.pid)] = worker
            }
            if found.count == pids.count { return pids.compactMap { found[$0] } }
            for pid in pids where found[pid] == nil {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    throw QueueError.runtime("worker process \(pid) exited during start-up (exit \(qc_wexitstatus(status))); see \(location.workerLogPath)")
                }
            }
            if Monotonic.now() > deadline {
                throw QueueError.runtime("workers did not register within \(Int(timeout)) s; see \(location.workerLogPath)")
            }
            usleep(10_000)
        }
    }

    /// Asks workers (all of this database's, or the given ids) to stop: each finishes
    /// its current job, records it, deregisters and exits. Dead workers found on the
    /// way are released. With `wait`, returns once they are gone or `timeout` passed.
    public func stop(workerIDs: [String]? = nil, wait: Bool = true, timeout: Double = 30) throws -> StopReport {
        let store = try SQLiteJobStore(location: location)
        var report = StopReport()
        report.released = try Recovery.sweep(store: store).releasedWorkers
        let targets = try store.workers().filter { workerIDs == nil || workerIDs!.contains($0.id) }
        report.requested = targets
        guard !targets.isEmpty else { return report }
        try store.requestStop(workerIDs: targets.map(\.id))
        for worker in targets where worker.hostname == ProcessIdentity.hostname {
            ProcessIdentity.signalProcess(pid: worker.pid, startTicks: worker.pidStartTicks, signal: SIGTERM)
        }
        Doorbell.ring(location)
        guard wait else { return report }
        let deadline = Monotonic.now() + timeout
        var remaining = targets
        while !remaining.isEmpty {
            let registered = Set(try store.workers().map(\.id))
            remaining = remaining.filter { w in
                registered.contains(w.id) && (w.hostname != ProcessIdentity.hostname || ProcessIdentity.isAlive(pid: w.pid, startTicks: w.pidStartTicks))
            }
            if remaining.isEmpty || Monotonic.now() > deadline { break }
            usleep(20_000)
        }
        // A worker that exited without deregistering (crashed) is released now.
        try Recovery.sweep(store: store)
        report.stillRunning = try store.workers().filter { w in remaining.contains { $0.id == w.id } }
        return report
    }

    /// Runs `count` workers attached to this process (for systemd or a container)
    /// and supervises them: SIGINT/SIGTERM stop them gracefully; a worker that
    /// crashes is restarted. Returns when all have stopped.
    public func runForeground(count: Int, log: (String) -> Void) throws -> Int32 {
        try location.checkOwnedDatabase()
        try location.prepareLogsFolder()
        var signalPipe: [Int32] = [-1, -1]
        guard qc_pipe_cloexec(&signalPipe) == 0 else { throw QueueError.runtime("cannot create a pipe") }
        _ = fcntl(signalPipe[1], F_SETFL, fcntl(signalPipe[1], F_GETFL) | O_NONBLOCK)
        _ = fcntl(signalPipe[0], F_SETFL, fcntl(signalPipe[0], F_GETFL) | O_NONBLOCK)
        qc_install_stop_handler(signalPipe[1])
        // Children get SIGTERM (a graceful stop) if this supervisor dies.
        var children: [pid_t] = []
        for _ in 0..<count { children.append(try spawnWorker(stdout: 2, deathSignal: SIGTERM, newSession: false)) }
        let workers = try awaitRegistration(pids: children, timeout: 15, reapChildren: true)
        for w in workers { log("worker \(w.id) started (pid \(w.pid))") }
        let store = try SQLiteJobStore(location: location)
        var stopping = false
        var restarts: [Double] = []
        while !children.isEmpty {
            var fd = pollfd(fd: signalPipe[0], events: Int16(POLLIN), revents: 0)
            _ = poll(&fd, 1, 200)
            if qc_stop_signal_count() > 0 && !stopping {
                stopping = true
                log("stopping \(children.count) worker(s) gracefully; they finish their current job first")
                // No signal is forwarded: children may already have one (a terminal's
                // Ctrl-C, systemd's SIGTERM to the whole cgroup), and a second one would
                // cancel their job. The database flag and the doorbell reach them all.
                let ids = try store.workers().filter { children.contains(pid_t($0.pid)) }.map(\.id)
                try store.requestStop(workerIDs: ids)
                Doorbell.ring(location)
            }
            var scratch = [UInt8](repeating: 0, count: 16)
            while read(signalPipe[0], &scratch, scratch.count) > 0 {}
            for pid in children {
                var status: Int32 = 0
                guard waitpid(pid, &status, WNOHANG) == pid else { continue }
                children.removeAll { $0 == pid }
                let crashed = !(qc_wifexited(status) != 0 && qc_wexitstatus(status) == 0)
                if crashed && !stopping {
                    let now = Monotonic.now()
                    restarts = restarts.filter { now - $0 < 60 } + [now]
                    guard restarts.count <= 10 else {
                        log("worker pid \(pid) crashed; too many restarts in a minute, not restarting")
                        continue
                    }
                    log("worker pid \(pid) exited unexpectedly; starting a replacement")
                    try Recovery.sweep(store: store)
                    if let replacement = try? spawnWorker(stdout: 2, deathSignal: SIGTERM, newSession: false) {
                        children.append(replacement)
                    }
                }
            }
        }
        log("all workers stopped")
        return 0
    }
}
