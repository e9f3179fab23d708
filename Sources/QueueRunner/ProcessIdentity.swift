import CQueueSys
import Foundation

/// Identifies processes by pid *and* start time, so a pid reused by an unrelated
/// process is never mistaken for a worker or a job (and never signalled).
public enum ProcessIdentity {
    /// Start time of `pid` in clock ticks since boot (`/proc/PID/stat` field 22), or
    /// nil if there is no such live (non-zombie) process.
    public static func startTicks(of pid: Int) -> Int64? {
        startTicks(of: pid, includingZombies: false)
    }

    private static func startTicks(of pid: Int, includingZombies: Bool) -> Int64? {
        guard let info = status(of: pid) else { return nil }
        if !includingZombies && info.isZombie { return nil }
        return info.startTicks
    }

    /// What `/proc/PID/stat` says about a process, as far as queuectl needs it.
    public struct Status: Sendable, Equatable {
        /// The one-letter state (`R`, `S`, `Z` for a zombie…).
        public var state: UInt8
        public var parentPID: Int
        public var processGroup: Int
        public var startTicks: Int64
        /// Exited and not reaped yet (or being reaped): nothing left to signal.
        public var isZombie: Bool { state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") }
    }

    /// Reads `/proc/PID/stat`; nil if there is no such process.
    public static func status(of pid: Int) -> Status? {
        guard pid > 0 else { return nil }
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        let text = buffer[0..<n]
        // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = text[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19, let state = fields[0].first else { return nil }
        func number(_ i: Int) -> Int64? { Int64(String(decoding: fields[i], as: UTF8.self)) }
        guard let parent = number(1), let group = number(2), let start = number(19) else { return nil }
        return Status(state: state, parentPID: Int(parent), processGroup: Int(group), startTicks: start)
    }

    /// The boot clock in the units and truncation of `/proc/PID/stat`'s start time
    /// (the kernel stamps a new process with `CLOCK_BOOTTIME` and divides it down to
    /// clock ticks, 10 ms each).
    public static func bootTicks() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return (Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)) / (1_000_000_000 / ticksPerSecond)
    }

    static let ticksPerSecond = Int64(max(1, sysconf(Int32(_SC_CLK_TCK))))

    /// Start time of a child spawned between two readings of `bootTicks()`. When both
    /// fall in the same tick, that tick is the child's start time and `/proc` need not
    /// be read (an `open`, `read` and `close` per job); otherwise, or if this system's
    /// clock disagrees with `/proc` (checked once), it is read from `/proc`.
    public static func startTicks(ofChild pid: Int, spawnedBetween before: Int64, and after: Int64) -> Int64? {
        if before == after && bootClockMatchesProc { return before }
        return startTicks(of: pid)
    }

    /// Whether `bootTicks()` around a spawn gives the start time `/proc` reports,
    /// checked on one `/bin/true` child (read before it is reaped).
    static let bootClockMatchesProc: Bool = {
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { argv.forEach { free($0) } }
        var options = qc_spawn_options(stdin_fd: -1, stdout_fd: -1, stderr_fd: -1, death_signal: 0, new_session: 0,
                                       working_directory: nil)
        for _ in 0..<5 {
            let before = bootTicks()
            let pid = qc_spawn("/bin/true", &argv, environ, &options)
            let after = bootTicks()
            guard pid > 0 else { return false }
            let reported = startTicks(of: Int(pid), includingZombies: true)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            if before == after { return reported == before }
        }
        return false
    }()

    /// Whether the process recorded as (`pid`, `startTicks`) is still running.
    public static func isAlive(pid: Int, startTicks: Int64) -> Bool {
        self.startTicks(of: pid) == startTicks
    }

    public static var currentPID: Int { Int(getpid()) }

    public static var currentStartTicks: Int64 { startTicks(of: currentPID) ?? 0 }

    public static let hostname: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// The running executable (so `worker start` spawns the same build of queuectl).
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Signals a worker process only if it is still the one recorded.
    @discardableResult
    public static func signalProcess(pid: Int, startTicks: Int64, signal: Int32) -> Bool {
        guard isAlive(pid: pid, startTicks: startTicks) else { return false }
        return kill(pid_t(pid), signal) == 0
    }

    /// Signals the process group a job ran in, led by (`pgid`, `startTicks`).
    ///
    /// Safe against pid reuse: a pid cannot be handed out while a process group of
    /// that number still has members. So if a process with pid `pgid` exists but
    /// started at another time, our group is empty and is left alone; if no such
    /// process exists, any member of group `pgid` is a leftover of the job.
    @discardableResult
    public static func signalJobGroup(pgid: Int, startTicks: Int64?, signal: Int32) -> Bool {
        guard pgid > 1 else { return false }
        if let leader = self.startTicks(of: pgid), leader != startTicks { return false }
        return killpg(pid_t(pgid), signal) == 0
    }
}
