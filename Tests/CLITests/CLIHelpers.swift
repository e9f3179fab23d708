import Foundation
import QueueCore
import TestSupport

/// Shorthands the black-box tests share: run a command that must succeed, read its
/// JSON, enqueue, start workers, wait for a job state.
extension QueueSandbox {
    /// Runs `queuectl ARGS` and throws (with its output) unless it exits 0.
    @discardableResult
    func ok(_ arguments: [String], stdin: String? = nil, timeout: Double = 60) throws -> CLIResult {
        let result = try run(arguments, stdin: stdin, timeout: timeout)
        guard result.status == 0 else { throw TestFailure("queuectl \(arguments.joined(separator: " ")) failed: \(result)") }
        return result
    }

    /// Runs a `--json` command and parses its stdout.
    func json(_ arguments: [String]) throws -> JSONValue {
        let result = try ok(arguments + ["--json"])
        do { return try JSONValue.parse(result.stdout) } catch {
            throw TestFailure("queuectl \(arguments.joined(separator: " ")) --json printed invalid JSON (\(error)): \(result.stdout)")
        }
    }

    /// Enqueues one job given as JSON and returns its id.
    @discardableResult
    func enqueue(_ job: String) throws -> String {
        let id = try ok(["enqueue", job]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !id.isEmpty, !id.contains("\n") else { throw TestFailure("enqueue printed \(id.debugDescription)") }
        return id
    }

    func configure(_ settings: [(String, String)]) throws {
        for (key, value) in settings { try ok(["config", "set", key, value]) }
    }

    /// `show ID --json`: the job plus its history.
    func job(_ id: String) throws -> JSONValue { try json(["show", id]) }

    func state(_ id: String) throws -> String? { try job(id)["state"]?.stringValue }

    func history(_ id: String) throws -> [JSONValue] { try job(id)["history"]?.arrayValue ?? [] }

    /// Job counts from `status --json`, by state.
    func counts() throws -> [String: Int] {
        guard case let .object(members)? = try json(["status"])["jobs"] else { throw TestFailure("status --json has no jobs object") }
        return Dictionary(uniqueKeysWithValues: members.map { ($0.0, $0.1.intValue ?? -1) })
    }

    /// Starts `count` background workers; returns their (id, pid).
    @discardableResult
    func startWorkers(_ count: Int = 1) throws -> [(id: String, pid: Int32)] {
        let workers = try json(["worker", "start", "--count", String(count)]).arrayValue ?? []
        guard workers.count == count else { throw TestFailure("worker start --json listed \(workers.count) workers, not \(count)") }
        return workers.map { ($0["id"]?.stringValue ?? "", Int32($0["pid"]?.intValue ?? 0)) }
    }

    /// Polls until job `id` is in `state`; throws with the job's last view if it never is.
    @discardableResult
    func waitForState(_ id: String, _ states: Set<String>, timeout: Double = 20) throws -> JSONValue {
        var last: JSONValue = .null
        let reached = try QueueSandbox.waitUntil(timeout: timeout) {
            last = try job(id)
            return states.contains(last["state"]?.stringValue ?? "")
        }
        guard reached else { throw TestFailure("job \(id) did not reach \(states.sorted()) within \(timeout) s: \(last.serialized())") }
        return last
    }

    @discardableResult
    func waitForState(_ id: String, _ state: String, timeout: Double = 20) throws -> JSONValue {
        try waitForState(id, [state], timeout: timeout)
    }

    /// A path inside the sandbox, for marker files.
    func path(_ name: String) -> String { directory + "/" + name }

    func lines(of name: String) -> [String] {
        ((try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}

extension JSONValue {
    var stringValue: String? { if case let .string(s) = self { return s }; return nil }
    var intValue: Int? { if case let .number(_, i?) = self { return Int(i) }; return nil }
    var doubleValue: Double? { if case let .number(d, _) = self { return d }; return nil }
    var arrayValue: [JSONValue]? { if case let .array(a) = self { return a }; return nil }
    var isNull: Bool { self == .null }
    var keys: [String] { if case let .object(m) = self { return m.map(\.0) }; return [] }
    /// An ISO-8601 field as a timestamp.
    func time(_ key: String) -> Timestamp? { self[key]?.stringValue.flatMap { Timestamp(iso8601: $0) } }
}

/// Whether a process exists and is not a zombie.
func processIsRunning(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 || errno == EPERM else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

extension QueueSandbox {
    /// Starts `queuectl ARGS` without waiting for it (for `worker start --foreground`);
    /// its stderr goes to `stderr.log` in the sandbox.
    func spawn(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: QueueSandbox.binaryPath)
        process.arguments = ["--db", address] + arguments
        var env = ProcessInfo.processInfo.environment
        env["QUEUECTL_DB"] = address
        env["NO_COLOR"] = "1"
        process.environment = env
        _ = FileManager.default.createFile(atPath: path("stderr.log"), contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: path("stderr.log")))
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Registered workers' (id, pid).
    func workers() throws -> [(id: String, pid: Int32)] {
        (try json(["worker", "list"]).arrayValue ?? []).map { ($0["id"]?.stringValue ?? "", Int32($0["pid"]?.intValue ?? 0)) }
    }
}
