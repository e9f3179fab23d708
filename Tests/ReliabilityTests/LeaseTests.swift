import Foundation
import Testing
import QueueCore
import TestSupport

/// Leases must tell a dead or frozen worker from a database nobody could write.
@Suite struct LeaseTests {
    /// Another process holds the write lock for longer than the lease (but less than
    /// the busy timeout): no heartbeat can land meanwhile, for any worker. When the
    /// lock goes, the workers are all alive and still running their jobs; none may
    /// be presumed dead, and no job may be interrupted and run again.
    @Test func aLockLongerThanTheLeaseInterruptsNoLiveWorker() throws {
        let sandbox = try QueueSandbox(name: "lease-lock")
        // A file store always: it holds SQLite's write lock.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.must(["config", "set", "lease-timeout", "2"])
        let lines = (0..<3).map { #"{"id":"long\#($0)","command":"echo $QUEUECTL_JOB_ID >> \#(sandbox.directory)/started; sleep 7"}"# }
        try sandbox.must(["enqueue", "-"], stdin: lines.joined(separator: "\n"))
        let workers = try sandbox.startWorkers(3)
        #expect(QueueSandbox.waitUntil { sandbox.lines("started").count == 3 })

        let holder = try LockHolder(database: db)
        usleep(4_500_000)   // twice the lease without a single heartbeat
        holder.release()

        let done = try QueueSandbox.waitUntil(timeout: 20) { try sandbox.sql("select count(*) from jobs where state = 'completed'") == "3" }
        let history = try sandbox.sql("select job_id, attempt, worker_id, outcome, error from runs order by id")
        #expect(done, "\(history)")
        #expect(try sandbox.sql("select count(*) from runs where outcome = 'interrupted'") == "0", "live workers lost their jobs: \(history)")
        #expect(sandbox.lines("started").count == 3, "a job ran again")
        #expect(workers.allSatisfy { isLiveProcess($0.pid) })
        #expect(try sandbox.sql("select count(*) from workers") == "3")
    }

    /// `lease-timeout` may be changed at any time, to any whole number of seconds.
    /// Lowering it under running workers, while someone keeps looking (each look
    /// runs recovery), must not make them look dead before they know of it.
    @Test func loweringTheLeaseUnderRunningWorkersInterruptsNothing() throws {
        let sandbox = try QueueSandbox(name: "lease-lower")
        defer { sandbox.cleanup() }
        let lines = (0..<3).map { #"{"id":"long\#($0)","command":"echo $QUEUECTL_JOB_ID >> \#(sandbox.directory)/started; sleep 5"}"# }
        try sandbox.must(["enqueue", "-"], stdin: lines.joined(separator: "\n"))
        _ = try sandbox.startWorkers(3)
        #expect(QueueSandbox.waitUntil { sandbox.lines("started").count == 3 })
        usleep(1_000_000)   // into the workers' heartbeat rhythm under the default lease

        try sandbox.must(["config", "set", "lease-timeout", "1"])
        let until = Date().addingTimeInterval(3)
        while Date() < until { try sandbox.must(["status"]) }

        let done = try QueueSandbox.waitUntil(timeout: 15) { try sandbox.count("completed") == 3 }
        let history = try sandbox.allRuns()
        #expect(done, "\(history)")
        #expect(!history.contains { $0.outcome == .interrupted }, "live workers lost their jobs: \(history)")
        #expect(sandbox.lines("started").count == 3, "a job ran again")
    }
}
