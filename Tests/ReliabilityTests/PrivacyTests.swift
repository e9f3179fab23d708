import Foundation
import Testing
import QueueCore
import TestSupport

/// The default data folder is private, and a job runs with exactly the worker's
/// environment and working directory plus QUEUECTL_JOB_ID and QUEUECTL_ATTEMPT.
@Suite struct PrivacyTests {
    @Test func dataFolderIsPrivateAndJobsSeeOnlyTheWorkersEnvironment() throws {
        let sandbox = try QueueSandbox(name: "privacy")
        // A file store always: it checks the modes of the default database file and the files beside it.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let xdg = sandbox.directory + "/data"
        let work = sandbox.directory + "/work dir"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let environment = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": sandbox.directory, "XDG_DATA_HOME": xdg,
            "QC_PROBE": "a b=c ✓", "QUEUECTL_JOB_ID": "inherited-and-replaced",
        ]
        /// queuectl with exactly `environment`, in `work`, with no --db: the default location.
        func queuectl(_ arguments: [String]) throws -> Finished {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: QueueSandbox.binaryPath)
            process.arguments = arguments
            process.environment = environment
            process.currentDirectoryURL = URL(fileURLWithPath: work)
            return try collect(process)
        }
        #expect(try queuectl(["enqueue", #"{"id":"env","command":"env > env.out; pwd > pwd.out; echo done"}"#]).status == 0)
        let start = try queuectl(["worker", "start"])
        #expect(start.status == 0, "\(start)")
        defer { _ = try? queuectl(["worker", "stop", "--timeout", "10"]) }
        #expect(try QueueSandbox.waitUntil { try queuectl(["show", "env", "--json"]).stdout.contains(#""state": "completed""#) })

        let folder = xdg + "/queuectl"
        let db = folder + "/queue.db"
        #expect(mode(folder) == 0o700, "data folder mode \(String(mode(folder), radix: 8))")
        #expect(mode(db) == 0o600)
        #expect(mode(db + "-logs") == 0o700)
        var checked = 0
        for name in try FileManager.default.subpathsOfDirectory(atPath: folder) {
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: folder + "/" + name, isDirectory: &isDir)
            let expected = isDir.boolValue ? 0o700 : 0o600
            #expect(mode(folder + "/" + name) == expected, "\(name) has mode \(String(mode(folder + "/" + name), radix: 8))")
            checked += 1
        }
        #expect(checked >= 4, "the database, its logs folder, the worker log and the run's log")
        #expect(FileManager.default.fileExists(atPath: db + "-logs/workers.log"))

        #expect(try String(contentsOfFile: work + "/pwd.out", encoding: .utf8) == work + "\n")
        var seen: [String: String] = [:]
        for line in try String(contentsOfFile: work + "/env.out", encoding: .utf8).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            seen[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        var expected = environment
        expected["QUEUECTL_JOB_ID"] = "env"
        expected["QUEUECTL_ATTEMPT"] = "1"
        expected["PWD"] = work   // set by /bin/sh itself
        #expect(seen == expected)
    }
}
