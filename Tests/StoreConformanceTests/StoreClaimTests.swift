import Foundation
import Testing
@testable import QueueCore

/// Claiming: order (priority, then FIFO), eligibility by run_at, attempt counting,
/// the run it opens, and what a claim tells a stopping or released worker.
@Suite struct StoreClaimTests {
    let f: StoreFixture
    init() throws {
        f = try StoreFixture()
        try f.worker("w1")
    }

    @Test func higherPriorityFirstThenFIFO() throws {
        try f.enqueue("low-1", priority: -5)
        try f.enqueue("mid-1")
        f.advance(seconds: 0.001)
        try f.enqueue("high-1", priority: 10)
        try f.enqueue("mid-2")
        f.advance(seconds: 0.001)
        try f.enqueue("high-2", priority: 10)
        try f.enqueue("mid-3")
        try f.enqueue("low-2", priority: -5)
        #expect(try f.drainOrder("w1") == ["high-1", "high-2", "mid-1", "mid-2", "mid-3", "low-1", "low-2"])
    }

    @Test func fifoWithinOneBatchFollowsInputOrder() throws {
        let ids = (0..<50).map { "job-\(49 - $0)" }   // deliberately not in id order
        _ = try f.store.enqueue(ids.map { try JobSpec(id: $0, command: "true") }, now: f.now)
        #expect(try f.drainOrder("w1") == ids)
    }

    @Test func futureRunAtIsNotClaimedUntilDue() throws {
        try f.enqueue("later", delay: 30)
        try f.enqueue("at", runAt: f.now.adding(seconds: 10))
        #expect(try f.store.claim(workerID: "w1", now: f.now) == .noJob)
        #expect(try f.store.nextRunAt() == f.now.adding(seconds: 10))
        f.advance(seconds: 9.999)
        #expect(try f.store.claim(workerID: "w1", now: f.now) == .noJob)
        f.advance(seconds: 0.001)
        #expect(try f.drainOrder("w1") == ["at"])
        f.advance(seconds: 20)
        #expect(try f.drainOrder("w1") == ["later"])
        #expect(try f.store.nextRunAt() == nil)
    }

    @Test func dueHighPriorityDoesNotWaitForLaterOnes() throws {
        try f.enqueue("future-high", priority: 100, delay: 60)
        try f.enqueue("now-low", priority: -1)
        #expect(try f.drainOrder("w1") == ["now-low"])
    }

    @Test func claimCountsTheAttemptAndOpensARun() throws {
        try f.enqueue("a")
        f.advance(seconds: 2)
        let claimed = try f.claim("w1")
        #expect(claimed.job.state == .processing)
        #expect(claimed.job.attempts == 1)
        #expect(claimed.job.workerID == "w1")
        let stored = try f.store.job(id: "a")
        #expect(stored.state == .processing && stored.attempts == 1 && stored.workerID == "w1")
        #expect(stored.updatedAt == f.now)

        let runs = try f.store.runs(jobID: "a")
        #expect(runs.count == 1)
        #expect(runs[0].id == claimed.runID)
        #expect(runs[0].attempt == 1 && runs[0].workerID == "w1" && runs[0].startedAt == f.now)
        #expect(runs[0].finishedAt == nil && runs[0].outcome == nil)
        #expect(try f.store.runIsActive(runID: claimed.runID))

        let worker = try #require(try f.workerRow("w1"))
        #expect(worker.state == .busy && worker.jobID == "a" && worker.jobStartedAt == f.now)
    }

    @Test func aProcessingJobIsNotClaimedTwice() throws {
        try f.worker("w2")
        try f.enqueue("only")
        _ = try f.claim("w1")
        #expect(try f.store.claim(workerID: "w2", now: f.now) == .noJob)
        #expect(try f.store.claim(workerID: "w1", now: f.now) == .noJob)
    }

    @Test func unregisteredWorkerIsToldItWasReleased() throws {
        try f.enqueue("a")
        #expect(try f.store.claim(workerID: "ghost", now: f.now) == .workerReleased)
        #expect(try f.store.job(id: "a").state == .pending)
        #expect(try f.store.job(id: "a").attempts == 0)
    }

    @Test func stoppingWorkerTakesNoNewJob() throws {
        try f.enqueue("a")
        try f.store.requestStop(workerIDs: ["w1"])
        #expect(try f.store.claim(workerID: "w1", now: f.now) == .stopRequested)
        #expect(try f.store.job(id: "a").state == .pending)
        #expect(try f.workerRow("w1")?.state == .stopping)
    }

    @Test func aBusyWorkerAskedToStopIsStoppingWithItsJob() throws {
        try f.enqueue("a")
        _ = try f.claim("w1")
        #expect(try f.workerRow("w1")?.state == .busy)
        try f.store.requestStop(workerIDs: ["w1"])
        let row = try #require(try f.workerRow("w1"))
        #expect(row.state == .stopping && row.jobID == "a", "\(row)")
    }

    @Test func settleRecordsThenTakesTheNext() throws {
        try f.enqueue("a")
        try f.enqueue("b")
        let first = try f.claim("w1")
        let settled = try f.settle([FinishedRun(claimed: first, result: StoreFixture.success)], limit: 1)
        let (finished, next) = (settled.finished.first ?? nil, settled.next)
        #expect(finished?.state == .completed)
        guard case let .claimed(second) = next else { Issue.record("expected b, got \(next)"); return }
        #expect(second.job.id == "b")
        #expect(try f.workerRow("w1")?.jobsDone == 0, "a busy worker's count waits for its heartbeat or for running out of work")
        let none = try f.settle([FinishedRun(claimed: second, result: StoreFixture.success)], limit: 0, jobsDone: 2).next
        #expect(none == .noJob)
        #expect(try f.store.counts()[.completed] == 2)
        #expect(try f.workerRow("w1")?.jobsDone == 2)
        #expect(try f.workerRow("w1")?.state == .idle)
    }

    @Test func manyClaimantsTakeEachJobOnce() throws {
        // Separate connections (as separate worker processes have) racing on one queue.
        let ids = (0..<200).map { "j\($0)" }
        _ = try f.store.enqueue(ids.map { try JobSpec(id: $0, command: "true") }, now: f.now)
        let workers = (0..<4).map { "racer-\($0)" }
        for w in workers { try f.worker(w) }
        let now = f.now
        let claimedPerWorker = try workers.map { w -> @Sendable () throws -> [String] in
            let store = try f.connection(.worker)
            return {
                var mine: [String] = []
                while case let .claimed(c) = try store.claim(workerID: w, now: now) {
                    mine.append(c.job.id)
                    _ = try store.finish(c, workerID: w, result: StoreFixture.success, now: now)
                }
                return mine
            }
        }
        let results = LockedResults()
        DispatchQueue.concurrentPerform(iterations: claimedPerWorker.count) { i in
            results.append(Result { try claimedPerWorker[i]() })
        }
        let all = try results.values.flatMap { try $0.get() }
        #expect(all.count == ids.count)
        #expect(Set(all) == Set(ids))
        #expect(try f.store.counts()[.completed] == 200)
        for id in ["j0", "j100", "j199"] { #expect(try f.store.job(id: id).attempts == 1) }
    }
}

final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Result<[String], Error>] = []
    func append(_ r: Result<[String], Error>) { lock.withLock { items.append(r) } }
    var values: [Result<[String], Error>] { lock.withLock { items } }
}
