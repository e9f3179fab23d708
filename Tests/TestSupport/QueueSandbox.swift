import Foundation

/// What one `queuectl` invocation printed and returned.
public struct CLIResult: Sendable, CustomStringConvertible {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
    public var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// A scratch queue for black-box tests of the built `queuectl` binary: a folder
/// for scratch files and a queue of its own, never the user's (every call gets
/// `--db` and `QUEUECTL_DB`). The queue is `queue.db` in the folder, or, when
/// `QUEUECTL_TEST_DB` names a PostgreSQL server, a schema of its own there, dropped
/// at cleanup (see `TestDatabase`).
public final class QueueSandbox: @unchecked Sendable {
    /// Scratch files (markers, scripts); on SQLite also the database and the files beside it.
    public let directory: String
    /// What `--db` gets: the SQLite file, or the server address with its schema.
    public private(set) var address: String
    /// Whether a command has run against `address` yet.
    private var used = false

    /// The `queuectl` executable built next to the test bundle.
    public static let binaryPath: String = {
        if let explicit = ProcessInfo.processInfo.environment["QUEUECTL_BINARY"] { return explicit }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("queuectl").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        for build in [".build/debug/queuectl", ".build/release/queuectl"] {
            let candidate = FileManager.default.currentDirectoryPath + "/" + build
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "queuectl"
    }()

    public init(name: String = "queuectl-test") throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        directory = base.path
        address = try TestDatabase.newQueueAddress(folder: base.path)
    }

    deinit { cleanup() }

    /// Declares that the calling test is about the SQLite file itself (the files
    /// beside it, its modes, links, WAL, locks, or paths given as `--db`), so it
    /// runs on a SQLite file whatever `QUEUECTL_TEST_DB` says, and returns the
    /// file's path. Call it before the first command.
    @discardableResult
    public func requireFileStore() throws -> String {
        let path = directory + "/queue.db"
        if address != path {
            guard !used else { throw TestFailure("requireFileStore() must come before the sandbox's first command") }
            address = path
        }
        return path
    }

    /// Runs `queuectl ARGS` against the sandbox's queue.
    @discardableResult
    public func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
                    timeout: Double = 60) throws -> CLIResult {
        used = true
        return try Self.exec(Self.binaryPath, ["--db", address] + arguments, stdin: stdin.map { Data($0.utf8) },
                             environment: environment.merging(["QUEUECTL_DB": address]) { a, _ in a }, timeout: timeout)
    }

    /// Runs `queuectl ARGS` without adding `--db` (for testing database resolution).
    public func runRaw(_ arguments: [String], stdin: Data? = nil, environment: [String: String], timeout: Double = 60) throws -> CLIResult {
        try Self.exec(Self.binaryPath, arguments, stdin: stdin, environment: environment, timeout: timeout)
    }

    /// Runs any program and collects its output.
    public static func exec(_ path: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
                            timeout: Double = 60) throws -> CLIResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "QUEUECTL_DB")
        env["NO_COLOR"] = "1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("qc-out-\(UUID().uuidString)")
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("qc-err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        guard FileManager.default.isExecutableFile(atPath: path) else { throw missingProgram(path, ENOENT) }
        try process.run()
        if let stdin {
            DispatchQueue.global().async {
                try? input.fileHandleForWriting.write(contentsOf: stdin)
                try? input.fileHandleForWriting.close()
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw TestFailure("\(path) \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        try? out.close()
        try? err.close()
        return CLIResult(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes.
    public static func waitUntil(timeout: Double = 15, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if try condition() { return true }
            usleep(50_000)
        } while Date() < deadline
        return try condition()
    }

    /// Stops every worker of this sandbox and removes its files (and its schema on a
    /// server). A worker a test left stopped (SIGSTOP) is continued first, and one
    /// that is still alive after `worker stop` is killed: a failing test leaves no
    /// process behind.
    public func cleanup() {
        let pids = workerPIDs()
        for pid in pids { kill(pid, SIGCONT) }
        _ = try? run(["worker", "stop", "--timeout", "10"], timeout: 20)
        for pid in pids where kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        TestDatabase.removeQueue(address)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The pids `worker list --json` names (none if it cannot run).
    private func workerPIDs() -> [pid_t] {
        guard let list = try? run(["worker", "list", "--json"], timeout: 20), list.status == 0 else { return [] }
        // "pid": 1234 — read without a JSON parser (TestSupport stands alone).
        return list.stdout.components(separatedBy: "\"pid\": ").dropFirst().compactMap { rest in
            pid_t(rest.prefix { $0.isNumber })
        }.filter { $0 > 1 }
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
