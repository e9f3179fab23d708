import Foundation
import Testing
@testable import QueueCore

/// Releasing lost workers: their runs become `interrupted` attempts that go through
/// the normal retry path, so a job that kills its worker cannot loop forever.
@Suite struct StoreRecoveryTests {
    let f: StoreFixture
    init() throws {
        f = try StoreFixture()
        try f.store.setConfig(.backoffBase, 2)
    }

    @Test func releasedWorkersJobIsInterruptedAndRetried() throws {
        let w1 = try f.worker("w1")
        try f.enqueue("a", maxRetries: 1)
        let claimed = try f.claim("w1")
        f.advance(seconds: 5)
        let runs = try f.release(w1, .processExited)
        #expect(runs.count == 1)
        #expect(runs.first?.jobID == "a" && runs.first?.runID == claimed.runID && runs.first?.attempt == 1)
        #expect(runs.first?.newState == .failed)

        let job = try f.store.job(id: "a")
        #expect(job.state == .failed && job.workerID == nil && job.attempts == 1)
        #expect(job.runAt == f.now.adding(seconds: 2))
        #expect(job.lastError?.contains("worker") == true)
        let run = try #require(try f.store.runs(jobID: "a").first)
        #expect(run.outcome == .interrupted && run.finishedAt == f.now && run.error != nil)
        #expect(try f.workerRow("w1") == nil)
        #expect(try f.assertCountsConsistent())

        // The retry runs on another worker.
        try f.worker("w2")
        f.advance(seconds: 2)
        let retry = try f.claim("w2")
        #expect(retry.job.attempts == 2)
    }

    @Test func aJobThatKeepsKillingItsWorkerEndsDead() throws {
        try f.store.setConfig(.backoffBase, 1)
        try f.enqueue("killer", maxRetries: 2)
        for n in 1...3 {
            let w = try f.worker("w\(n)")
            _ = try f.claim("w\(n)")
            let released = try f.release(w, .processExited)
            #expect(released.first?.newState == (n < 3 ? .failed : .dead))
            f.advance(seconds: 1)
        }
        let job = try f.store.job(id: "killer")
        #expect(job.state == .dead && job.attempts == 3)
        #expect(try f.store.runs(jobID: "killer").allSatisfy { $0.outcome == .interrupted })
    }

    @Test func expiredLeaseIsReleasedButAFreshHeartbeatCancelsIt() throws {
        try f.worker("w1")
        try f.enqueue("a")
        _ = try f.claim("w1")
        let seen = try #require(try f.workerRow("w1"))
        f.advance(seconds: 20)
        // The worker beat again after the sweeper read its row: not released.
        #expect(try f.store.heartbeat(workerID: "w1", jobsDone: 0) != nil)
        #expect(try f.store.releaseWorker(seen, loss: .leaseExpired(seconds: 20), startedThrough: nil, now: f.now) == nil)
        #expect(try f.store.job(id: "a").state == .processing)
        #expect(try f.workerRow("w1") != nil)

        // With the row as it is now and no newer beat, it is released.
        let current = try #require(try f.workerRow("w1"))
        f.advance(seconds: 20)
        let released = try f.release(current, .leaseExpired(seconds: 20))
        #expect(released.map(\.jobID) == ["a"])
        #expect(try f.store.job(id: "a").state == .failed)
        #expect(try f.store.runs(jobID: "a").first?.error?.contains("heartbeat") == true)
    }

    @Test func releasingAnIdleOrUnknownWorkerChangesNoJob() throws {
        let idle = try f.worker("idle")
        try f.enqueue("a")
        // Released, holding nothing: an empty list. Already gone: nil (not released).
        #expect(try f.store.releaseWorker(idle, loss: .processExited, startedThrough: nil, now: f.now) == [])
        #expect(try f.workerRow("idle") == nil)
        #expect(try f.store.releaseWorker(idle, loss: .processExited, startedThrough: nil, now: f.now) == nil)
        #expect(try f.store.job(id: "a").state == .pending)
        #expect(try f.store.claim(workerID: "idle", now: f.now) == .workerReleased)
    }

    @Test func orphanedProcessingJobsAreReleased() throws {
        try f.worker("w1")
        try f.enqueue("a")
        try f.enqueue("b")
        _ = try f.claim("w1")
        // The worker row vanished without its job being released (e.g. deregistered by hand).
        try f.store.deregisterWorker(id: "w1")
        let runs = try f.store.releaseOrphanedJobs(now: f.now)
        #expect(runs.map(\.jobID) == ["a"])
        #expect(try f.store.job(id: "a").state == .failed)
        #expect(try f.store.job(id: "b").state == .pending)
        #expect(try f.store.runs(jobID: "a").first?.outcome == .interrupted)
        #expect(try f.store.releaseOrphanedJobs(now: f.now).isEmpty)
        #expect(try f.assertCountsConsistent())
    }
}
