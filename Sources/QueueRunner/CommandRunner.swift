import CQueueSys
import Foundation
import QueueCore

/// How a command's run ended, before the store turns it into a job state.
public struct RunReport: Sendable, Equatable {
    public var result: RunResult
    /// True when the run was cancelled (lease lost, forced stop) rather than ending on its own.
    public var cancelled: Bool
}

/// What can cancel a running job: a write to `cancelFD` (the heartbeat found the
/// lease lost) always does, at once (SIGKILL: another worker may run the job now);
/// a readable `signalFD` (a stop signal arrived) does when `signalCancels` says so,
/// also at once. A write to `terminateFD` stops the job the way a timeout does
/// (SIGTERM, `kill-grace`, SIGKILL, see JobProcessTree): the path for a user's
/// cancel. Every descriptor must be non-blocking (-1: none).
public struct CancelSources {
    public var cancelFD: Int32
    public var signalFD: Int32
    public var terminateFD: Int32
    public var signalCancels: () -> Bool

    public init(cancelFD: Int32, signalFD: Int32 = -1, terminateFD: Int32 = -1, signalCancels: @escaping () -> Bool = { false }) {
        self.cancelFD = cancelFD
        self.signalFD = signalFD
        self.terminateFD = terminateFD
        self.signalCancels = signalCancels
    }
}

/// Work the caller does while its run goes on, once the run has lasted `after`
/// seconds: the worker records what it owes the store, so a long run never holds
/// back results or jobs it claimed ahead. `action` returns false to be called again
/// shortly (the database was busy).
public struct RunCheckIn {
    public var after: Double
    public var action: () -> Bool

    public init(after: Double, action: @escaping () -> Bool) {
        self.after = after
        self.action = action
    }
}

/// Runs one shell command: `/bin/sh -c COMMAND` in its own session and process
/// group, output captured to a capped log file, with timeout and cancellation.
/// However the run ends, the job's whole process tree is stopped with it (see
/// JobProcessTree: what a job leaves behind gets SIGTERM, then SIGKILL after
/// `killGrace`).
///
/// Everything happens on the calling thread in one `poll` loop over the process's
/// pidfd, its output pipe and a cancel descriptor: no pump threads, no buffering of
/// whole outputs. The job dies with this thread (`PR_SET_PDEATHSIG`), so the worker
/// must call this from a thread that lives as long as the worker.
public struct CommandRunner: Sendable {
    public var logPath: String
    public var outputLimit: Int64
    public var timeout: Double?
    public var killGrace: Double
    /// The worker's environment, prepared once.
    public var environment: JobEnvironment
    /// `NAME=value` entries added for this run (QUEUECTL_JOB_ID, QUEUECTL_ATTEMPT).
    public var runVariables: [String]
    /// The job's own variables (its `env`), over the worker's.
    public var jobVariables: [String: String] = [:]
    /// The job's `cwd` (nil: the worker's directory).
    public var workingDirectory: String?

    public init(logPath: String, outputLimit: Int64, timeout: Double?, killGrace: Double, environment: JobEnvironment,
                runVariables: [String] = []) {
        self.runVariables = runVariables
        self.logPath = logPath
        self.outputLimit = outputLimit
        self.timeout = timeout
        self.killGrace = killGrace
        self.environment = environment
    }

    /// How often a long run reaps the processes the worker adopted from it that have
    /// exited (they would stay `<defunct>` until the run ends).
    static let reapIntervalSeconds = 1.0

    /// Runs `command`; a `cancel` source firing stops the job's processes.
    /// `onSpawn` receives the process group leader's pid and start time.
    public func run(_ command: String, cancel: CancelSources, checkIn: RunCheckIn? = nil,
                    onSpawn: (Int, Int64) -> Void) -> RunReport {
        if let workingDirectory {
            var info = stat()
            guard stat(workingDirectory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                return Self.spawnFailure("working directory \(workingDirectory) does not exist or is not a directory")
            }
        }
        var pipeFDs: [Int32] = [-1, -1]
        guard qc_pipe_cloexec(&pipeFDs) == 0 else {
            return Self.spawnFailure("cannot create output pipe: \(String(cString: strerror(errno)))")
        }
        let readFD = pipeFDs[0], writeFD = pipeFDs[1]
        let before = ProcessIdentity.bootTicks()
        let pid = spawnShell(command, outputFD: writeFD)
        let after = ProcessIdentity.bootTicks()
        close(writeFD)
        guard pid > 0 else {
            let message = String(cString: strerror(errno))
            close(readFD)
            return Self.spawnFailure("cannot start /bin/sh: \(message)")
        }
        let startTicks = ProcessIdentity.startTicks(ofChild: Int(pid), spawnedBetween: before, and: after) ?? 0
        onSpawn(Int(pid), startTicks)
        var capture = OutputCapture(path: logPath, limit: outputLimit)
        defer { capture.close() }
        return supervise(pid: pid, readFD: readFD, cancel: cancel, checkIn: checkIn, capture: &capture)
    }

    /// The jobs' stdin, opened once per process rather than by each child (-1 if it
    /// cannot be: the child then opens `/dev/null` itself).
    private static let devNull: Int32 = open("/dev/null", O_RDWR | O_CLOEXEC)

    private func spawnShell(_ command: String, outputFD: Int32) -> pid_t {
        let argv = ["/bin/sh", "-c", command]
        return withCStrings(argv) { argvPtr in
            environment.withEnvp(extra: runVariables, overriding: jobVariables) { envPtr in
                withOptionalCString(workingDirectory) { directory in
                    var options = qc_spawn_options(stdin_fd: Self.devNull, stdout_fd: outputFD, stderr_fd: outputFD,
                                                   death_signal: SIGKILL, new_session: 1, working_directory: directory)
                    return qc_spawn("/bin/sh", argvPtr, envPtr, &options)
                }
            }
        }
    }

    private func supervise(pid: pid_t, readFD: Int32, cancel: CancelSources, checkIn: RunCheckIn?,
                           capture: inout OutputCapture) -> RunReport {
        let pidFD = qc_pidfd_open(pid)
        defer { if pidFD >= 0 { close(pidFD) } }
        let tree = JobProcessTree(leader: pid)
        let started = Monotonic.now()
        let deadline = timeout.map { started + $0 }
        var checkInAt = checkIn.map { started + $0.after }
        var reapAt = JobProcessTree.adoptsOrphans ? started + Self.reapIntervalSeconds : nil
        var phase = JobProcessTree.Phase.running
        var timedOut = false
        var cancelled = false
        // A user's cancel (terminateFD): stopped like a timeout, recorded `cancelled`.
        var cancelRequested = false
        var pipeOpen = true
        // Small at first (most jobs print little or nothing); a read that fills it
        // grows it once, so a chatty job is read 64 KiB at a time.
        var buffer = [UInt8](repeating: 0, count: 4096)

        while true {
            let killing = phase == .killing
            var fds: [pollfd] = [
                pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: pipeOpen ? readFD : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: killing ? -1 : cancel.cancelFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: killing ? -1 : cancel.signalFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: phase == .running ? cancel.terminateFD : -1, events: Int16(POLLIN), revents: 0),
            ]
            var wait: Double? = pidFD >= 0 ? nil : 0.05   // without pidfd, poll the pid
            let now = Monotonic.now()
            func waitAtMost(_ seconds: Double?) {
                guard let seconds else { return }
                wait = min(wait ?? seconds, max(0, seconds))
            }
            waitAtMost(tree.secondsUntilDue(phase, grace: killGrace, now: now))
            if phase == .running, let deadline { waitAtMost(deadline - now) }
            if let checkInAt { waitAtMost(checkInAt - now) }
            if let reapAt { waitAtMost(reapAt - now) }
            let ready = poll(&fds, nfds_t(fds.count), wait.map { Self.millis(until: now + $0, from: now) } ?? -1)
            if ready < 0 && errno != EINTR { break }
            if fds[1].revents != 0 {
                let n = read(readFD, &buffer, buffer.count)
                if n > 0 { capture.append(buffer, count: n) } else if n == 0 || (errno != EINTR && errno != EAGAIN) { pipeOpen = false }
                if n == buffer.count && buffer.count < 65_536 { buffer = [UInt8](repeating: 0, count: 65_536) }
            }
            // Only a readable descriptor cancels; an invalid one (POLLNVAL) is ignored.
            var killNow = fds[2].revents & Int16(POLLIN) != 0
            if fds[3].revents & Int16(POLLIN) != 0 {
                var scratch = [UInt8](repeating: 0, count: 16)
                while read(cancel.signalFD, &scratch, scratch.count) > 0 {}
                killNow = killNow || cancel.signalCancels()
            }
            if killNow, phase != .killing {
                cancelled = true
                phase = tree.kill()
            } else if fds[4].revents & Int16(POLLIN) != 0, phase == .running {
                cancelRequested = true
                phase = tree.terminate()
            }
            if fds[0].revents != 0 || (pidFD < 0 && Self.hasExited(pid)) { break }
            let after = Monotonic.now()
            if let at = checkInAt, after >= at, let checkIn {
                checkInAt = checkIn.action() ? nil : Monotonic.now() + 0.1
            }
            if let at = reapAt, after >= at {
                tree.reapAdopted()
                reapAt = after + Self.reapIntervalSeconds
            }
            phase = tree.advance(phase, grace: killGrace, now: after)
            if phase == .running, let deadline, after >= deadline {
                timedOut = true
                phase = tree.terminate()
            }
        }
        // The leader has exited but is not reaped yet, so its pid (and the group id)
        // cannot have been reused: stop whatever the job left running, reading its
        // output meanwhile.
        func pump(milliseconds: Int32) {
            guard pipeOpen else { usleep(useconds_t(milliseconds) * 1000); return }
            var fd = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
            guard poll(&fd, 1, milliseconds) > 0 else { return }
            let n = read(readFD, &buffer, buffer.count)
            if n > 0 { capture.append(buffer, count: n) } else if n == 0 || (errno != EINTR && errno != EAGAIN) { pipeOpen = false }
        }
        tree.finish(from: phase, grace: killGrace, pump: pump)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        drain(readFD: readFD, open: pipeOpen, buffer: &buffer, capture: &capture)
        close(readFD)
        var report = classify(status: status, timedOut: timedOut, cancelRequested: cancelRequested, cancelled: cancelled, capture: capture)
        report.result.outputLost = capture.lost
        return report
    }

    /// Reads what is left in the pipe, waiting briefly for leftovers to close it.
    private func drain(readFD: Int32, open: Bool, buffer: inout [UInt8], capture: inout OutputCapture) {
        guard open else { return }
        let until = Monotonic.now() + 0.2
        while true {
            var fd = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
            let ms = Self.millis(until: until, from: Monotonic.now())
            guard poll(&fd, 1, ms) > 0 else { return }
            let n = read(readFD, &buffer, buffer.count)
            if n > 0 { capture.append(buffer, count: n) } else if n == 0 || errno != EINTR { return }
        }
    }

    private func classify(status: Int32, timedOut: Bool, cancelRequested: Bool, cancelled: Bool, capture: OutputCapture) -> RunReport {
        let bytes = capture.totalBytes
        let tail = capture.lastLine.map { ": " + $0 } ?? ""
        if cancelled {
            return RunReport(result: RunResult(outcome: .interrupted, error: "run cancelled", outputBytes: bytes), cancelled: true)
        }
        var exitCode: Int?
        var signal: Int?
        if qc_wifexited(status) != 0 { exitCode = Int(qc_wexitstatus(status)) }
        if qc_wifsignaled(status) != 0 { signal = Int(qc_wtermsig(status)) }
        if cancelRequested {
            return RunReport(result: RunResult(outcome: .cancelled, exitCode: exitCode, signal: signal,
                                               error: Cancellation.requestedReason, outputBytes: bytes), cancelled: false)
        }
        if timedOut {
            let limit = timeout.map { ConfigKey.jobTimeout.format($0) } ?? "?"
            return RunReport(result: RunResult(outcome: .timedOut, exitCode: exitCode, signal: signal,
                                               error: "timed out after \(limit) s", outputBytes: bytes), cancelled: false)
        }
        if exitCode == 0 {
            return RunReport(result: RunResult(outcome: .succeeded, exitCode: 0, outputBytes: bytes), cancelled: false)
        }
        let error: String
        switch (exitCode, signal) {
        case (127?, _): error = "command not found (exit 127)" + tail
        case (126?, _): error = "command not executable (exit 126)" + tail
        case let (code?, _): error = "exit code \(code)" + tail
        case let (nil, sig?): error = "killed by signal \(sig) (\(Self.signalName(sig)))" + tail
        default: error = "ended with wait status \(status)"
        }
        return RunReport(result: RunResult(outcome: .failed, exitCode: exitCode, signal: signal, error: error, outputBytes: bytes),
                         cancelled: false)
    }

    static func signalName(_ sig: Int) -> String {
        let names = [1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 8: "SIGFPE", 9: "SIGKILL",
                     11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 25: "SIGXFSZ"]
        return names[sig] ?? "signal \(sig)"
    }

    private static func hasExited(_ pid: pid_t) -> Bool {
        qc_has_exited(pid) != 0
    }

    private static func millis(until target: Double, from now: Double) -> Int32 {
        Int32(max(0, min(Double(Int32.max), ((target - now) * 1000).rounded(.up))))
    }

    private static func spawnFailure(_ message: String) -> RunReport {
        RunReport(result: RunResult(outcome: .failed, error: message), cancelled: false)
    }
}

/// Calls `body` with a NULL-terminated C array of the strings (argv/envp for exec).
public func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Calls `body` with a C string of `text`, or NULL.
func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}
