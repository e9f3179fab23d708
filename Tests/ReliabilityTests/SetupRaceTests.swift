import Foundation
import Testing
import QueueCore
import TestSupport

/// Processes that open a database needing set-up at the same moment: a new file
/// (`worker start --count 4` or parallel enqueues on first use) or an older schema
/// (workers restarting after an upgrade). Each must succeed, and the schema must
/// be set up once.
@Suite struct SetupRaceTests {
    static let processes = 8

    @Test func processesCreatingANewDatabaseTogetherAllSucceed() throws {
        let sandbox = try QueueSandbox(name: "setup-race")
        // A file store always: it races processes creating new database files.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        for round in 0..<4 {
            let path = sandbox.directory + "/new-\(round).db"
            let results = try Self.runTogether((0..<Self.processes).map { i in
                ["enqueue", #"{"id":"r\#(round)-\#(i)","command":"true"}"#, "--db", path]
            }, in: sandbox.directory)
            for result in results {
                #expect(result.status == 0 && result.stderr.isEmpty, "round \(round): \(result)")
            }
            let listed = try JSONValue.parse(try sandbox.runRaw(["list", "--json", "--db", path], environment: [:]).stdout)
            guard case let .array(jobs) = listed else { Issue.record("list printed \(listed)"); continue }
            #expect(jobs.count == Self.processes, "round \(round)")
        }
    }

    @Test func processesUpgradingTheSchemaTogetherAllSucceed() throws {
        let sandbox = try QueueSandbox(name: "upgrade-race")
        // A file store always: it rolls the file's schema back with SQL and races the migration.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        for round in 0..<4 {
            try sandbox.must(["enqueue", #"{"id":"old-\#(round)","command":"true"}"#])
            let migrations = Int(try sandbox.sql("SELECT count(*) FROM grdb_migrations")) ?? 0
            // Back to the version 2 schema: its list index, without the v3 record.
            _ = try sandbox.sql("""
                DELETE FROM grdb_migrations WHERE identifier LIKE 'v3%'; DROP INDEX jobs_state;
                CREATE INDEX jobs_state ON jobs(state, seq) WHERE state IN ('pending', 'processing', 'failed', 'dead');
                """)
            #expect(try sandbox.sql("SELECT count(*) FROM grdb_migrations") == String(migrations - 1))
            let results = try Self.runTogether(Array(repeating: ["status", "--db", db], count: Self.processes),
                                               in: sandbox.directory)
            for result in results {
                #expect(result.status == 0 && result.stderr.isEmpty, "round \(round): \(result)")
            }
            #expect(try sandbox.sql("SELECT count(*) FROM grdb_migrations") == String(migrations))
            #expect(try sandbox.sql("SELECT sql FROM sqlite_master WHERE name = 'jobs_state'").hasSuffix("WHERE state <> 'completed'"))
        }
        #expect(try sandbox.count("pending") == 4)
    }

    /// Starts every command before waiting for any, then collects their results.
    static func runTogether(_ commands: [[String]], in directory: String) throws -> [CLIResult] {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "QUEUECTL_DB")
        let started = try commands.enumerated().map { index, arguments in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: QueueSandbox.binaryPath)
            process.arguments = arguments
            process.environment = environment
            let out = directory + "/together-\(index).out", err = directory + "/together-\(index).err"
            FileManager.default.createFile(atPath: out, contents: nil)
            FileManager.default.createFile(atPath: err, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
            process.standardInput = FileHandle.nullDevice
            try process.run()
            return (process, out, err)
        }
        return started.map { process, out, err in
            process.waitUntilExit()
            return CLIResult(status: process.terminationStatus,
                             stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                             stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
        }
    }
}
