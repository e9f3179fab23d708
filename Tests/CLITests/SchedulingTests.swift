import Foundation
import QueueCore
import Testing
import TestSupport

/// Which job runs when: priority first, FIFO within a priority, and never before
/// its `run_at` / `delay`.
@Suite struct SchedulingTests {
    @Test func singleWorkerRunsByPriorityThenFIFO() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let order = sandbox.path("order")
        func job(_ id: String, _ priority: Int) -> String {
            #"{"id":"\#(id)","priority":\#(priority),"command":"echo $QUEUECTL_JOB_ID >> \#(order)"}"#
        }
        for (id, priority) in [("a", 0), ("b", 5), ("c", 0), ("d", -1), ("e", 5), ("f", 0)] {
            try sandbox.enqueue(job(id, priority))
        }
        try sandbox.ok(["enqueue", "-"], stdin: ["g1", "g2", "g3"].map { job($0, 1) }.joined(separator: "\n"))
        try sandbox.ok(["enqueue", "--command", "echo $QUEUECTL_JOB_ID >> \(order)", "--id", "h", "--priority", "5"])

        try sandbox.startWorkers(1)
        #expect(QueueSandbox.waitUntil(timeout: 20) { sandbox.lines(of: "order").count == 10 })
        let expected = ["b", "e", "h", "g1", "g2", "g3", "a", "c", "f", "d"]
        #expect(sandbox.lines(of: "order") == expected)
        // The history agrees.
        let starts = try expected.map { try #require(try sandbox.history($0).first?.time("started_at")) }
        #expect(starts == starts.sorted())
    }

    @Test func delayAndRunAtAreRespected() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.startWorkers(1)
        let at = Timestamp.now().adding(seconds: 2)
        try sandbox.enqueue(#"{"id":"scheduled","command":"true","run_at":"\#(at.iso8601)"}"#)
        try sandbox.enqueue(#"{"id":"delayed","command":"true","delay":1.5}"#)
        try sandbox.enqueue(#"{"id":"past","command":"true","run_at":"2020-01-01T00:00:00Z"}"#)
        try sandbox.enqueue(#"{"id":"now","command":"true"}"#)

        let now = try sandbox.waitForState("now", "completed", timeout: 5)
        let created = try #require(now.time("created_at"))
        let started = try #require(now["history"]?.arrayValue?.first?.time("started_at"))
        #expect(started.seconds(since: created) < 1, "an idle worker took \(started.seconds(since: created)) s to start a job")
        try sandbox.waitForState("past", "completed", timeout: 5)
        #expect(try sandbox.state("scheduled") == "scheduled")
        #expect(try sandbox.state("delayed") == "scheduled")

        for id in ["delayed", "scheduled"] {
            let job = try sandbox.waitForState(id, "completed", timeout: 10)
            let runAt = try #require(job.time("run_at"))
            let started = try #require(job["history"]?.arrayValue?.first?.time("started_at"))
            #expect(started >= runAt, "\(id) started at \(started), before its run_at \(runAt)")
            #expect(started.seconds(since: runAt) < 1.5, "\(id) started \(started.seconds(since: runAt)) s after its run_at")
        }
        let delayed = try sandbox.job("delayed")
        let delay = try #require(delayed.time("run_at")).seconds(since: try #require(delayed.time("created_at")))
        #expect(abs(delay - 1.5) < 0.01)
        #expect(try sandbox.job("scheduled").time("run_at") == at)
    }
}
