import Foundation
import QueueCore
import Testing
import TestSupport

/// Unique keys, requeue, run-now, dlq retry --all and dlq delete.
@Suite struct RerunTests {
    @Test func aUniqueKeyReturnsTheQueuedJobAndWritesNothing() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let first = try sandbox.enqueue(#"{"command":"true","unique_key":"sync","delay":3600}"#)
        let again = try sandbox.ok(["enqueue", #"{"command":"other","unique_key":"sync"}"#])
        #expect(again.stdout == first + "\n" && again.stderr == "already queued as \(first)\n")
        let json = try sandbox.json(["enqueue", #"{"command":"true","unique_key":"sync"}"#])
        #expect(json["duplicate_of"]?.stringValue == first)
        #expect(try sandbox.counts().values.reduce(0, +) == 1)
        try sandbox.ok(["cancel", first])
        #expect(try sandbox.enqueue(#"{"command":"true","unique_key":"sync"}"#) != first)
    }

    @Test func requeueCopiesAFinalJobAndRunNowMakesItEligible() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"orig","command":"true","delay":3600,"tags":["t"]}"#)
        let notFinal = try sandbox.run(["requeue", "orig"])
        #expect(notFinal.status == 4 && notFinal.stderr.contains("scheduled"), "\(notFinal)")
        try sandbox.ok(["run-now", "orig"])
        let job = try sandbox.job("orig")
        #expect(try #require(job.time("run_at")) <= Timestamp.now())
        try sandbox.ok(["cancel", "orig"])
        let copy = try #require(try sandbox.json(["requeue", "orig"]).arrayValue?.first)
        #expect(copy["requeued_from"]?.stringValue == "orig" && copy["state"]?.stringValue == "pending")
        #expect(copy["tags"]?.arrayValue == [.string("t")] && copy["id"]?.stringValue != "orig")
        #expect(try sandbox.run(["run-now", "orig"]).status == 4)
    }

    @Test func dlqRetryAllAndDeleteTakeEveryDeadJob() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it checks the run logs beside the database are deleted.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.ok(["enqueue", "-"], stdin: (0..<3).map { #"{"id":"d\#($0)","command":"echo out; exit 1","max_retries":0}"# }.joined(separator: "\n"))
        try sandbox.startWorkers(1)
        try sandbox.run(["wait", "d0", "d1", "d2", "--timeout", "10"])
        try sandbox.ok(["worker", "stop"])
        let notDead = try sandbox.run(["dlq", "delete", "d0", "ghost"])
        #expect(notDead.status == 3, "\(notDead)")
        #expect(try sandbox.json(["dlq", "retry", "--all"])["retried"]?.intValue == 3)
        #expect(try sandbox.counts()["pending"] == 3)
        let conflict = try sandbox.run(["dlq", "delete", "d0"])
        #expect(conflict.status == 4 && conflict.stderr.contains("pending"), "\(conflict)")
        try sandbox.startWorkers(1)
        try sandbox.run(["wait", "d0", "d1", "d2", "--timeout", "10"])
        try sandbox.ok(["dlq", "delete", "d0"])
        #expect(try sandbox.run(["show", "d0"]).status == 3)
        #expect(try sandbox.json(["dlq", "delete", "--all"])["deleted"]?.intValue == 2)
        let logs = try FileManager.default.contentsOfDirectory(atPath: db + "-logs").filter { $0.hasPrefix("d") }
        #expect(logs.isEmpty, "\(logs)")
    }
}
