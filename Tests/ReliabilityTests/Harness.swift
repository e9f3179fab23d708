import Foundation
import QueueCore
import QueueStores
import TestSupport

/// Small helpers for attacking a sandboxed queue.
extension QueueSandbox {
    @discardableResult
    func must(_ arguments: [String], stdin: String? = nil) throws -> CLIResult {
        let result = try run(arguments, stdin: stdin)
        guard result.status == 0 else { throw TestFailure("queuectl \(arguments.joined(separator: " ")): \(result)") }
        return result
    }

    func statusJSON() throws -> JSONValue { try JSONValue.parse(try must(["status", "--json"]).stdout) }

    func count(_ state: String) throws -> Int {
        guard case let .number(_, n?)? = try statusJSON()["jobs"]?[state] else { return -1 }
        return Int(n)
    }

    func workerPIDs() throws -> [Int32] {
        guard case let .array(items) = try JSONValue.parse(try must(["worker", "list", "--json"]).stdout) else { return [] }
        return items.compactMap { if case let .number(_, n?)? = $0["pid"] { return Int32(n) } else { return nil } }
    }

    /// The sandbox's queue opened in this process, for reading it through the store
    /// capabilities on any store.
    func store() throws -> any JobStore {
        try StoreOpener.open(try StoreAddress.resolve(explicit: address), .command(creating: false))
    }

    /// Every run of every job, oldest first, read through the store capabilities.
    func allRuns() throws -> [RunRecord] {
        let store = try store()
        return try store.jobs(state: nil, limit: 1_000_000).flatMap { try store.runs(jobID: $0.id) }.sorted { $0.id < $1.id }
    }

    /// Runs a query on the sandbox database (through the SQLite library): only for
    /// tests that declared they need a file store.
    func sql(_ query: String) throws -> String {
        try SQLiteProbe.query(try requireFileStore(), query)
    }
}

/// Whether this machine lets the tests mount a small tmpfs (root in a VM, usually).
let canMount: Bool = {
    guard getuid() == 0 else { return false }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qc-mount-probe-\(getpid())").path
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { rmdir(dir) }
    guard (try? QueueSandbox.spawnAndWait("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]))?.status == 0 else { return false }
    _ = try? QueueSandbox.spawnAndWait("umount", [dir])
    return true
}()

/// A one-line `error: …` on stderr, nothing on stdout, a non-zero exit.
func isCleanFailure(_ r: CLIResult) -> Bool {
    r.status != 0 && r.stdout.isEmpty && r.stderr.hasPrefix("error: ")
        && r.stderr.split(separator: "\n").count == 1 && !r.stderr.contains("Fatal error") && !r.stderr.contains("Stack")
}
