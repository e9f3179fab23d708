import Foundation
import QueueCore
import TestSupport

/// Helpers for the fencing, identity, permission and storage attacks.
extension QueueSandbox {
    /// Starts `count` background workers and returns their ids and pids.
    func startWorkers(_ count: Int = 1) throws -> [(id: String, pid: Int32)] {
        guard case let .array(items) = try JSONValue.parse(try must(["worker", "start", "--count", String(count), "--json"]).stdout)
        else { throw TestFailure("worker start --json did not print an array") }
        return items.map { item in
            guard case let .string(id)? = item["id"], case let .number(_, pid?)? = item["pid"] else { return ("", 0) }
            return (id, Int32(pid))
        }
    }

    /// The registered workers' ids and pids.
    func workers() throws -> [(id: String, pid: Int32)] {
        guard case let .array(items) = try JSONValue.parse(try must(["worker", "list", "--json"]).stdout) else { return [] }
        return items.compactMap { item in
            guard case let .string(id)? = item["id"], case let .number(_, pid?)? = item["pid"] else { return nil }
            return (id, Int32(pid))
        }
    }

    /// The lines of a file in the sandbox (empty if it does not exist).
    func lines(_ name: String) -> [String] {
        ((try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The history of a job as `attempt|worker|outcome|exit_code` lines, oldest first.
    func runs(_ jobID: String) throws -> [String] {
        try sql("select attempt || '|' || worker_id || '|' || ifnull(outcome, '-') || '|' || ifnull(exit_code, '-') from runs where job_id = '\(jobID)' order by id")
            .split(separator: "\n").map(String.init)
    }
}

/// Whether `pid` is a live process (not a zombie).
func isLiveProcess(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)...].first
    return state != "Z" && state != "X"
}

/// Whether a live (not zombie) process is left in process group `pgid`. A zombie
/// cannot run or hold anything; it stays until its (maybe stopped) parent reaps it.
func groupHasMembers(_ pgid: Int32) -> Bool {
    guard pgid > 1, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }
    for entry in entries where entry.first?.isNumber == true {
        guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state, ppid, pgrp.
        if fields.count > 2, fields[2] == Substring(String(pgid)), fields[0] != "Z", fields[0] != "X" { return true }
    }
    return false
}

/// Resumes a stopped process if it still runs, so no test leaves one behind.
func resumeIfRunning(_ pid: Int32) { if isLiveProcess(pid) { kill(pid, SIGCONT) } }

/// Whether the tests run as root and can drop to `nobody` with setpriv (root
/// ignores file modes, so permission faults need another user).
let canDropPrivileges: Bool = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

/// Runs queuectl as `nobody` (uid/gid 65534).
func runAsNobody(_ arguments: [String], timeout: Double = 60) throws -> CLIResult {
    try QueueSandbox.exec("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", QueueSandbox.binaryPath] + arguments,
                          environment: ["HOME": "/nonexistent"], timeout: timeout)
}

/// What a process printed and returned.
struct Finished {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `process` to its end with stdout and stderr captured through files.
func collect(_ process: Process, timeout: Double = 60) throws -> Finished {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("qc-rel-\(UUID().uuidString)").path
    _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
    defer { unlink(base + ".out"); unlink(base + ".err") }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(5_000) }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        throw TestFailure("\(process.arguments ?? []) did not finish within \(timeout) s")
    }
    process.waitUntilExit()
    return Finished(status: process.terminationStatus,
                    stdout: (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? "",
                    stderr: (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? "")
}

/// The permission bits of a file.
func mode(_ path: String) -> Int {
    var info = stat()
    guard stat(path, &info) == 0 else { return -1 }
    return Int(info.st_mode & 0o7777)
}
