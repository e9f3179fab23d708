import Foundation
import QueueCore
import Testing
import TestSupport

/// A job from enqueue to completed, and the global plumbing around it: `--db`
/// anywhere, `QUEUECTL_DB`, stopping when nothing runs.
@Suite struct BasicJobTests {
    @Test func basicJobCompletesWithHistoryAndLogs() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let id = try sandbox.enqueue(#"{"id":"hello","command":"echo hello; echo to-stderr >&2"}"#)
        #expect(id == "hello")
        #expect(try sandbox.state("hello") == "pending")
        try sandbox.startWorkers(1)
        let job = try sandbox.waitForState("hello", "completed")
        #expect(job["attempts"]?.intValue == 1)
        #expect(job["exit_code"]?.intValue == 0)
        #expect(job["last_error"]?.isNull == true)
        #expect(job["worker_id"]?.isNull == true)
        for key in ["id", "command", "state", "attempts", "max_retries", "priority", "run_at", "timeout",
                    "created_at", "updated_at", "last_error", "exit_code", "history"] {
            #expect(job.keys.contains(key), "show --json lacks \(key)")
        }
        let history = try #require(job["history"]?.arrayValue)
        #expect(history.count == 1)
        #expect(history.first?["outcome"]?.stringValue == "succeeded")
        #expect(history.first?["attempt"]?.intValue == 1)
        #expect(history.first?["exit_code"]?.intValue == 0)
        let started = try #require(history.first?.time("started_at"))
        let finished = try #require(history.first?.time("finished_at"))
        #expect(started <= finished)
        #expect(job["created_at"]?.stringValue?.hasSuffix("Z") == true)

        let logs = try sandbox.run(["logs", "hello"])
        #expect(logs.status == 0)
        #expect(logs.stdout.contains("hello\n"))
        #expect(logs.stdout.contains("to-stderr"))
        #expect(try sandbox.counts() == ["pending": 0, "processing": 0, "completed": 1, "failed": 0, "dead": 0, "scheduled": 0, "blocked": 0, "cancelled": 0])
    }

    @Test func dbOptionWorksBeforeAndAfterTheSubcommandAndFromTheEnvironment() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let bin = QueueSandbox.binaryPath
        let before = try QueueSandbox.exec(bin, ["--db", sandbox.address, "enqueue", #"{"id":"a","command":"true"}"#])
        #expect(before.status == 0, "\(before)")
        let after = try QueueSandbox.exec(bin, ["enqueue", #"{"id":"b","command":"true"}"#, "--db", sandbox.address])
        #expect(after.status == 0, "\(after)")
        let equals = try QueueSandbox.exec(bin, ["--db=\(sandbox.address)", "enqueue", #"{"id":"c","command":"true"}"#])
        #expect(equals.status == 0, "\(equals)")
        let env = try sandbox.runRaw(["enqueue", #"{"id":"d","command":"true"}"#], environment: ["QUEUECTL_DB": sandbox.address])
        #expect(env.status == 0, "\(env)")
        let dashes = try QueueSandbox.exec(bin, ["--db", sandbox.address, "enqueue", "--", #"{"id":"e","command":"true"}"#])
        #expect(dashes.status == 0, "\(dashes)")
        // All of them landed in the sandbox database.
        let ids = try sandbox.json(["list"]).arrayValue?.compactMap { $0["id"]?.stringValue }
        #expect(ids == ["a", "b", "c", "d", "e"])
        // --db wins over the environment.
        let other = sandbox.path("other.db")
        let both = try sandbox.runRaw(["--db", other, "enqueue", #"{"id":"f","command":"true"}"#],
                                      environment: ["QUEUECTL_DB": sandbox.address])
        #expect(both.status == 0, "\(both)")
        #expect(FileManager.default.fileExists(atPath: other))
        #expect(try sandbox.counts()["pending"] == 5)
    }

    @Test func defaultDatabaseFollowsXDGAndIsPrivate() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it is about the default database file's place and mode.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let result = try sandbox.runRaw(["enqueue", #"{"command":"true"}"#],
                                        environment: ["XDG_DATA_HOME": sandbox.path("fresh-xdg"), "HOME": sandbox.directory])
        #expect(result.status == 0, "\(result)")
        let db = sandbox.path("fresh-xdg/queuectl/queue.db")
        let attributes = try FileManager.default.attributesOfItem(atPath: db)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let dir = try FileManager.default.attributesOfItem(atPath: sandbox.path("fresh-xdg/queuectl"))
        #expect((dir[.posixPermissions] as? Int) == 0o700)
    }

    @Test func workerStopWithNoWorkersIsNotAnError() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.ok(["enqueue", #"{"command":"true"}"#])
        let result = try sandbox.run(["worker", "stop"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.isEmpty)
        #expect(try sandbox.json(["worker", "list"]) == .array([]))
    }

    @Test func workerListShowsRegisteredWorkers() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let started = try sandbox.startWorkers(2)
        let listed = try #require(try sandbox.json(["worker", "list"]).arrayValue)
        #expect(Set(listed.compactMap { $0["id"]?.stringValue }) == Set(started.map(\.id)))
        for w in listed {
            #expect(w["state"]?.stringValue == "idle")
            #expect(w["job_id"]?.isNull == true)
            #expect(w.keys.contains("heartbeat_at") && w.keys.contains("started_at") && w.keys.contains("jobs_done"))
            #expect(processIsRunning(Int32(w["pid"]?.intValue ?? 0)))
        }
        let stop = try sandbox.run(["worker", "stop"])
        #expect(stop.status == 0, "\(stop)")
        #expect(try sandbox.json(["worker", "list"]) == .array([]))
        for w in started { #expect(!processIsRunning(w.pid)) }
    }
}
