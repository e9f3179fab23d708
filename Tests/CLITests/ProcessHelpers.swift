import Foundation
import TestSupport

/// Finding and cleaning up the processes a test started, by what they run: a
/// test must leave none behind, even when it fails.
enum TestProcesses {
    /// The command line of `pid` with its arguments joined by spaces, or nil.
    static func commandLine(_ pid: Int32) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }

    /// Live (non-zombie) processes whose command line contains `text`.
    static func running(containing text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            pid != getpid() && processIsRunning(pid) && (commandLine(pid)?.contains(text) ?? false)
        }
    }

    /// SIGKILLs every live process whose command line contains `text`.
    static func kill(containing text: String) {
        for pid in running(containing: text) { Glibc.kill(pid, SIGKILL) }
    }

    /// The pid a job wrote to a marker file (`echo $! > FILE`), once it is there.
    static func pid(inFile path: String, timeout: Double = 10) -> Int32? {
        var pid: Int32?
        _ = QueueSandbox.waitUntil(timeout: timeout) {
            pid = (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return pid != nil
        }
        return pid
    }

    /// Waits until `pid` is gone (a zombie counts as gone: PID 1 here does not reap).
    static func waitGone(_ pid: Int32, timeout: Double) -> Bool {
        QueueSandbox.waitUntil(timeout: timeout) { !processIsRunning(pid) }
    }

    /// Whether `pid` has a handler installed for `signal` (`SigCgt` in /proc/PID/status).
    static func catches(_ signal: Int32, _ pid: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
              let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
        return mask & (1 << UInt64(signal - 1)) != 0
    }

    /// The parent of `pid` (field 4 of /proc/PID/stat), or nil.
    static func parent(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }
}
