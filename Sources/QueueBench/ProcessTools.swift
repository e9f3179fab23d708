import CQueueSys
import Foundation
import QueueCore
import QueueRunner

/// Small process helpers the benchmark needs: timing whole commands, reading a
/// process's CPU time and memory from /proc.
enum ProcessTools {
    static func monotonic() -> Double { Monotonic.now() }

    /// Runs a program to completion with stdin from `stdinPath` (or /dev/null) and
    /// stdout/stderr discarded; returns (exit status, wall seconds).
    static func run(_ path: String, _ arguments: [String], stdinPath: String? = nil) throws -> (Int32, Double) {
        let input = stdinPath.map { open($0, O_RDONLY | O_CLOEXEC) } ?? -1
        defer { if input >= 0 { close(input) } }
        let argv = [path] + arguments
        let env = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let start = monotonic()
        let pid = withCStrings(argv) { a in
            withCStrings(env) { e in
                var options = qc_spawn_options(stdin_fd: input, stdout_fd: -1, stderr_fd: -1, death_signal: SIGKILL,
                                               new_session: 0, working_directory: nil)
                return qc_spawn(path, a, e, &options)
            }
        }
        guard pid > 0 else { throw BenchmarkError("cannot run \(path): \(String(cString: strerror(errno)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (qc_wexitstatus(status), monotonic() - start)
    }

    /// utime + stime of a process, in seconds.
    static func cpuSeconds(pid: Int) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident set size (VmRSS) in MiB.
    static func rssMiB(pid: Int) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first
            return kb.map { $0 / 1024 }
        }
        return nil
    }

    /// The machine's CPU time so far from `/proc/stat`, in clock ticks: all of it,
    /// and the part a hypervisor gave to other guests ("steal"). nil where the
    /// file or its steal column is missing.
    static func cpuTicks() -> (total: UInt64, steal: UInt64)? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        // user nice system idle iowait irq softirq steal guest guest_nice; guests are
        // already counted in user and nice.
        let fields = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }
        guard fields.count == 8 else { return nil }
        return (fields.reduce(0, +), fields[7])
    }

    /// The share of the machine's CPU time the host took for other guests between
    /// two ``cpuTicks()`` readings, in percent.
    static func stealPercent(from start: (total: UInt64, steal: UInt64), to end: (total: UInt64, steal: UInt64)) -> Double {
        // Some hypervisors' steal counter steps back: count that as none.
        guard end.total > start.total, end.steal >= start.steal else { return 0 }
        return Double(end.steal - start.steal) / Double(end.total - start.total) * 100
    }

    static func machineDescription() -> String {
        var model = "unknown CPU"
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var uts = utsname()
        uname(&uts)
        let release = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) cores, Linux \(release)"
    }

    static func median(_ values: [Double]) -> Double {
        percentile(values, 0.5)
    }

    static func percentile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((q * Double(sorted.count - 1)).rounded()))]
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
