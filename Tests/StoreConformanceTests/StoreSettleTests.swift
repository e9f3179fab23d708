import Foundation
import Testing
@testable import QueueCore

/// A worker's transaction between runs (`settle`): results of several runs recorded
/// together, jobs claimed ahead in claim order, and jobs given back without a trace
/// when they never started (by the worker itself, or by recovery after it died).
@Suite struct StoreSettleTests {
    let f: StoreFixture
    init() throws {
        f = try StoreFixture()
        try f.store.setConfig(.backoffBase, 2)
    }

    func claimedIDs(_ s: Settlement) -> [String] {
        guard case let .claimed(first) = s.next else { return [] }
        return ([first] + s.ahead).map(\.job.id)
    }

    @Test func claimsUpToTheLimitInClaimOrder() throws {
        try f.worker("w1")
        try f.enqueue("low")
        try f.enqueue("high", priority: 5)
        try f.enqueue("mid", priority: 1)
        try f.enqueue("low2")
        let s = try f.settle(limit: 3)
        #expect(claimedIDs(s) == ["high", "mid", "low"])
        #expect(try f.store.counts()[.processing] == 3)
        #expect(try f.store.counts()[.pending] == 1)
        for id in ["high", "mid", "low"] {
            let job = try f.store.job(id: id)
            #expect(job.state == .processing && job.attempts == 1 && job.workerID == "w1")
            #expect(try f.store.runs(jobID: id).count == 1)
        }
        // Fewer waiting than the limit: what there is.
        let rest = try f.settle(limit: 8, worker: "w2-unregistered-is-released")
        #expect(rest.next == .workerReleased && rest.ahead.isEmpty)
        try f.worker("w2")
        #expect(claimedIDs(try f.settle(limit: 8, worker: "w2")) == ["low2"])
        #expect(try f.assertCountsConsistent())
    }

    @Test func recordsEveryResultAndGivesBackTheUnstartedJobs() throws {
        try f.worker("w1")
        for id in ["a", "b", "c", "d"] { try f.enqueue(id) }
        let s = try f.settle(limit: 4)
        guard case let .claimed(a) = s.next else { Issue.record("nothing claimed"); return }
        let (b, c, d) = (s.ahead[0], s.ahead[1], s.ahead[2])
        f.advance(seconds: 1)
        var failed = StoreFixture.failure
        failed.startedAt = f.now.adding(seconds: -0.5)
        failed.finishedAt = f.now.adding(seconds: -0.2)
        let done = try f.settle([FinishedRun(claimed: a, result: StoreFixture.success), FinishedRun(claimed: b, result: failed)],
                              givingBack: [c, d], limit: 0)
        #expect(done.finished.map { $0?.state } == [.completed, .failed])
        #expect(done.next == .noJob)
        #expect(try f.store.job(id: "a").state == .completed)
        let bRuns = try f.store.runs(jobID: "b")
        // A run keeps its real start and end; without them, the claim and the record.
        #expect(bRuns.count == 1 && bRuns[0].startedAt == f.now.adding(seconds: -0.5))
        #expect(bRuns[0].finishedAt == f.now.adding(seconds: -0.2))
        let aRun = try f.store.runs(jobID: "a")[0]
        #expect(aRun.startedAt == f.now.adding(seconds: -1) && aRun.finishedAt == f.now)
        for id in ["c", "d"] {
            let job = try f.store.job(id: id)
            #expect(job.state == .pending && job.attempts == 0 && job.workerID == nil)
            #expect(try f.store.runs(jobID: id).isEmpty)
        }
        #expect(try f.assertCountsConsistent())
        // Given back in their place: the next claim takes them in their order.
        try f.worker("w2")
        #expect(claimedIDs(try f.settle(limit: 2, worker: "w2")) == ["c", "d"])
    }

    @Test func aRetryGivenBackIsDueAgainWithItsAttemptsAndError() throws {
        try f.worker("w1")
        try f.enqueue("r", maxRetries: 2)
        let first = try f.claim("w1")
        _ = try f.store.finish(first, workerID: "w1", result: StoreFixture.failure, now: f.now)
        let failedAt = try f.store.job(id: "r")
        f.advance(seconds: 3)
        let s = try f.settle(limit: 1)
        guard case let .claimed(retry) = s.next else { Issue.record("retry not claimed"); return }
        #expect(retry.job.attempts == 2)
        _ = try f.settle(givingBack: [retry], limit: 0)
        let job = try f.store.job(id: "r")
        // Claimed from `pending` (promoted when its retry came due), so back to it.
        #expect(job.state == .pending && job.attempts == 1 && job.runAt == failedAt.runAt)
        #expect(job.lastError == failedAt.lastError)
        #expect(try f.store.runs(jobID: "r").count == 1)
    }

    @Test func givingBackIsFencedOnTheLease() throws {
        let w1 = try f.worker("w1")
        try f.enqueue("a")
        try f.enqueue("b")
        let s = try f.settle(limit: 2)
        let b = s.ahead[0]
        // Recovery released w1 and another worker took b meanwhile.
        _ = try f.release(w1, .processExited)
        f.advance(seconds: 60)
        try f.worker("w2")
        #expect(claimedIDs(try f.settle(limit: 8, worker: "w2")).contains("b"))
        _ = try f.settle(givingBack: [b], limit: 0)
        let job = try f.store.job(id: "b")
        #expect(job.state == .processing && job.workerID == "w2")
        #expect(try f.store.runs(jobID: "b").count == 2)
    }

    @Test func recoveryGivesBackTheRunsAfterTheLastStartedOne() throws {
        let w1 = try f.worker("w1")
        for id in ["a", "b", "c"] { try f.enqueue(id, maxRetries: 0) }
        let s = try f.settle(limit: 3)
        guard case let .claimed(a) = s.next else { Issue.record("nothing claimed"); return }
        // w1 died running a; it never started b or c.
        let released = try #require(try f.store.releaseWorker(w1, loss: .processExited, startedThrough: a.runID, now: f.now))
        #expect(Set(released.map(\.jobID)) == ["a", "b", "c"])
        #expect(released.first { $0.jobID == "a" }?.started == true)
        #expect(released.filter { !$0.started }.map(\.newState) == [.pending, .pending])
        // a ran on its only attempt: dead. b and c are waiting as if never claimed.
        #expect(try f.store.job(id: "a").state == .dead)
        for id in ["b", "c"] {
            let job = try f.store.job(id: id)
            #expect(job.state == .pending && job.attempts == 0 && job.workerID == nil)
            #expect(try f.store.runs(jobID: id).isEmpty)
        }
        #expect(try f.assertCountsConsistent())
    }

    @Test func recoveryCountsEveryRunWhenTheWorkerLeftNoRecord() throws {
        let w1 = try f.worker("w1")
        for id in ["a", "b"] { try f.enqueue(id, maxRetries: 0) }
        _ = try f.settle(limit: 2)
        let released = try #require(try f.store.releaseWorker(w1, loss: .processExited, startedThrough: nil, now: f.now))
        #expect(released.allSatisfy { $0.started })
        #expect(try f.store.job(id: "a").state == .dead && f.store.job(id: "b").state == .dead)
    }

    @Test func givingBackAJobClaimedAheadGivesItsQueueTheTurnBack() throws {
        try f.worker("w1")
        _ = try f.store.enqueue(["a1", "a2", "a3"].map { try JobSpec(id: $0, command: "true", queue: "a") }
                                + ["b1", "b2", "b3"].map { try JobSpec(id: $0, command: "true", queue: "b") }, now: f.now)
        // a1 alone, then a batch that takes the turns b, a: b1 and a2.
        #expect(claimedIDs(try f.settle(limit: 1)) == ["a1"])
        let batch = try f.settle(limit: 2)
        #expect(claimedIDs(batch) == ["b1", "a2"])
        // b1's run went long: a2 is given back before it started. a keeps its turn.
        let next = try f.settle(givingBack: batch.ahead, limit: 1)
        #expect(claimedIDs(next) == ["a2"], "a2 lost its turn to b2")
    }

    /// Jobs of several queues given back at once give the turns back as if they
    /// had never been claimed: the queue of the first one claimed goes first.
    @Test func givingBackJobsOfSeveralQueuesGivesBackTheirTurnsInOrder() throws {
        try f.worker("w1")
        _ = try f.store.enqueue(["a", "b", "c"].flatMap { queue in
            try [1, 2].map { try JobSpec(id: "\(queue)\($0)", command: "true", queue: queue) }
        }, now: f.now)
        let batch = try f.settle(limit: 3)
        #expect(claimedIDs(batch) == ["a1", "b1", "c1"])
        let next = try f.settle(givingBack: batch.ahead, limit: 3)
        #expect(claimedIDs(next) == ["b1", "c1", "a2"], "the turns after a1's are b's, then c's")
        #expect(try f.store.runs(jobID: "b1").count == 1, "b1's given-back run left no row; its new claim opened one")
        #expect(try f.assertCountsConsistent())
    }
}

