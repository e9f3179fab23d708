import Foundation
import QueueCore
import Testing
import TestSupport

/// Workers stop gracefully (finishing their job), die hard (`kill -9`: the job is
/// released at once and retried), and the queue survives restarts.
@Suite struct WorkerLifecycleTests {
    @Test func workerStopLetsTheRunningJobFinishAndTakesNoNewOne() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"running","command":"sleep 1; echo finished"}"#)
        let workers = try sandbox.startWorkers(1)
        try sandbox.waitForState("running", "processing")
        try sandbox.enqueue(#"{"id":"next","command":"true"}"#)

        let stop = try sandbox.run(["worker", "stop", "--timeout", "20"])
        #expect(stop.status == 0, "\(stop)")
        #expect(stop.stdout.contains("stopped 1"))
        // When stop returns the job is recorded, the worker gone, nothing processing.
        let job = try sandbox.job("running")
        #expect(job["state"]?.stringValue == "completed")
        #expect(job["history"]?.arrayValue?.map { $0["outcome"]?.stringValue } == ["succeeded"])
        #expect(try sandbox.run(["logs", "running"]).stdout == "finished\n")
        let next = try sandbox.job("next")
        #expect(next["state"]?.stringValue == "pending" && next["attempts"]?.intValue == 0)
        #expect(try sandbox.counts()["processing"] == 0)
        #expect(try sandbox.json(["worker", "list"]) == .array([]))
        #expect(!processIsRunning(workers[0].pid))
    }

    @Test func sigtermToAWorkerIsGracefulToo() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"running","command":"sleep 1"}"#)
        let worker = try #require(try sandbox.startWorkers(1).first)
        try sandbox.waitForState("running", "processing")
        #expect(kill(worker.pid, SIGTERM) == 0)
        #expect(QueueSandbox.waitUntil(timeout: 10) { !processIsRunning(worker.pid) })
        let job = try sandbox.job("running")
        #expect(job["state"]?.stringValue == "completed")
        #expect(job["history"]?.arrayValue?.count == 1)
        #expect(try sandbox.json(["worker", "list"]) == .array([]))
    }

    @Test func killedWorkersJobIsReleasedAtOnceAndRetried() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        // A long lease: release must come from noticing the process is gone, not from the lease.
        try sandbox.configure([("lease-timeout", "15"), ("backoff-base", "1")])
        let flag = sandbox.path("first-run")
        let pidFile = sandbox.path("child.pid")
        try sandbox.enqueue(#"""
            {"id":"victim","max_retries":2,
             "command":"if [ -f \#(flag) ]; then echo second run; else touch \#(flag); sleep 30 & echo $! > \#(pidFile); wait; fi"}
            """#)
        let worker = try #require(try sandbox.startWorkers(1).first)
        try sandbox.waitForState("victim", "processing")
        #expect(QueueSandbox.waitUntil(timeout: 5) { !sandbox.lines(of: "child.pid").isEmpty })
        let childPID = try #require(Int32(sandbox.lines(of: "child.pid").first ?? ""))

        #expect(kill(worker.pid, SIGKILL) == 0)
        let killedAt = Date()
        let released = try sandbox.waitForState("victim", ["failed", "pending"], timeout: 10)
        let took = Date().timeIntervalSince(killedAt)
        #expect(took < 3, "released after \(took) s; lease-timeout is 15 s but the process was gone")
        let history = try #require(released["history"]?.arrayValue)
        #expect(history.first?["outcome"]?.stringValue == "interrupted")
        #expect(released["attempts"]?.intValue == 1)
        #expect(try sandbox.json(["worker", "list"]).arrayValue?.contains { $0["id"]?.stringValue == worker.id } == false)
        #expect(try sandbox.json(["status"])["workers"]?.arrayValue?.isEmpty == true)
        // The job's process group died with it.
        #expect(QueueSandbox.waitUntil(timeout: 3) { !processIsRunning(childPID) }, "job child \(childPID) outlived its worker")

        try sandbox.startWorkers(1)
        let done = try sandbox.waitForState("victim", "completed")
        #expect(done["attempts"]?.intValue == 2)
        #expect(done["history"]?.arrayValue?.map { $0["outcome"]?.stringValue } == ["interrupted", "succeeded"])
        #expect(try sandbox.run(["logs", "victim"]).stdout == "second run\n")
    }

    @Test func queueSurvivesRestarts() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("max-retries", "5"), ("backoff-base", "1.25")])
        for i in 1...3 { try sandbox.enqueue(#"{"id":"first-\#(i)","command":"echo run \#(i)"}"#) }
        try sandbox.startWorkers(2)
        #expect(QueueSandbox.waitUntil(timeout: 20) { (try? sandbox.counts()["completed"]) == 3 })
        try sandbox.ok(["worker", "stop"])
        let historyBefore = try sandbox.job("first-2")

        for i in 1...3 { try sandbox.enqueue(#"{"id":"second-\#(i)","command":"echo again \#(i)"}"#) }
        try sandbox.enqueue(#"{"id":"later","command":"true","delay":3600}"#)

        // Nothing runs while no worker is up; everything is still there.
        #expect(try sandbox.counts() == ["pending": 4, "processing": 0, "completed": 3, "failed": 0, "dead": 0])
        #expect(try sandbox.job("first-2") == historyBefore)
        #expect(try sandbox.run(["logs", "first-2"]).stdout == "run 2\n")
        #expect(try sandbox.ok(["config", "get", "max-retries"]).stdout == "5\n")
        #expect(try sandbox.job("second-1")["max_retries"]?.intValue == 5)

        try sandbox.startWorkers(1)
        #expect(QueueSandbox.waitUntil(timeout: 20) { (try? sandbox.counts()["completed"]) == 6 })
        try sandbox.ok(["worker", "stop"])
        #expect(try sandbox.counts() == ["pending": 1, "processing": 0, "completed": 6, "failed": 0, "dead": 0])
        #expect(try sandbox.state("later") == "pending")
        #expect(try sandbox.ok(["config", "get", "backoff_base"]).stdout == "1.25\n")
    }
}
