import Foundation
import QueueCore
import Testing
import TestSupport

/// `queuectl prune` and the retain-* config keys: old final jobs go with their
/// runs and logs; jobs still depended on stay.
@Suite struct PruneTests {
    @Test func pruneDeletesOldFinalJobsWithTheirLogsButKeepsWhatOthersWaitFor() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it checks the run logs beside the database are deleted.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.ok(["enqueue", "-"], stdin: """
            {"id":"done1","command":"echo one"}
            {"id":"done2","command":"echo two"}
            """)
        try sandbox.startWorkers(1)
        try sandbox.run(["wait", "done1", "done2", "--timeout", "10"])
        try sandbox.ok(["worker", "stop"])
        // A blocked job waits for a job that depends on done2: done2 must stay while it is not final.
        try sandbox.ok(["enqueue", "-"], stdin: """
            {"id":"gate","command":"true","delay":3600}
            {"id":"waiter","command":"true","depends_on":["gate","done2"]}
            """)
        let dry = try sandbox.json(["prune", "--completed-older", "0s", "--dry-run"])
        #expect(dry["completed"]?.intValue == 1)
        #expect(try sandbox.state("done1") == "completed")
        let pruned = try sandbox.json(["prune", "--completed-older", "0s"])
        #expect(pruned["completed"]?.intValue == 1)
        #expect(try sandbox.run(["show", "done1"]).status == 3)
        #expect(try sandbox.state("done2") == "completed")
        let logs = try FileManager.default.contentsOfDirectory(atPath: db + "-logs")
        #expect(!logs.contains { $0.hasPrefix("done1") } && logs.contains { $0.hasPrefix("done2") }, "\(logs)")
        let young = try sandbox.json(["prune", "--completed-older", "1h"])
        #expect(young["completed"]?.intValue == 0)
        #expect(try sandbox.run(["prune", "--completed-older", "soon"]).status == 64)
    }

    @Test func workersPruneByTheRetainKeys() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.ok(["enqueue", "--command", "true", "--id", "old", "--max-retries", "0"])
        try sandbox.ok(["cancel", "old"])
        try sandbox.configure([("retain-cancelled", "1s")])
        #expect(try sandbox.ok(["config", "get", "retain-cancelled"]).stdout == "1\n", "config get prints seconds")
        usleep(1_100_000)
        try sandbox.startWorkers(1)
        #expect(QueueSandbox.waitUntil(timeout: 5) { (try? sandbox.run(["show", "old"]).status) == 3 })
    }
}
