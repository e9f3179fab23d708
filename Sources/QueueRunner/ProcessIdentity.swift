import Foundation

/// Identifies processes by pid *and* start time, so a pid reused by an unrelated
/// process is never mistaken for a worker or a job (and never signalled).
public enum ProcessIdentity {
    /// Start time of `pid` in clock ticks since boot (`/proc/PID/stat` field 22), or
    /// nil if there is no such live (non-zombie) process.
    public static func startTicks(of pid: Int) -> Int64? {
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
        guard fields.count > 19 else { return nil }
        if fields[0].first == UInt8(ascii: "Z") || fields[0].first == UInt8(ascii: "X") { return nil }
        return Int64(String(decoding: fields[19], as: UTF8.self))
    }

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
