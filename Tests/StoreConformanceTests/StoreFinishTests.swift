import Foundation
import Testing
@testable import QueueCore

/// Recording a run's end: the retry path with backoff, the DLQ after
/// max_retries + 1 runs, and the lease fence (only the current holder may write).
@Suite struct StoreFinishTests {
    let f: StoreFixture
    init() throws {
        f = try StoreFixture()
        try f.worker("w1")
    }

    @Test func successCompletesTheJobAndTheRun() throws {
        try f.enqueue("a")
        let claimed = try f.claim("w1")
        f.advance(seconds: 1.5)
        let result = RunResult(outcome: .succeeded, exitCode: 0, outputBytes: 12, pid: 4242, pidStartTicks: 99)
        let job = try #require(try f.store.finish(claimed, workerID: "w1", result: result, now: f.now))
        #expect(job.state == .completed && job.exitCode == 0 && job.lastError == nil && job.workerID == nil)
        #expect(try f.store.job(id: "a") == job)
        let run = try #require(try f.store.runs(jobID: "a").first)
        #expect(run.outcome == .succeeded && run.exitCode == 0 && run.finishedAt == f.now)
        #expect(run.durationSeconds == 1.5 && run.pid == 4242 && run.outputBytes == 12)
        #expect(try !f.store.runIsActive(runID: claimed.runID))
    }

    @Test func failureSchedulesARetryAfterBaseToTheN() throws {
        try f.store.setConfig(.backoffBase, 3)
        try f.enqueue("a", "exit 1", maxRetries: 5)
        var expectedDelays: [Double] = []
        for n in 1...3 {
            let claimed = try f.claim("w1")
            #expect(claimed.job.attempts == n)
            let job = try #require(try f.store.finish(claimed, workerID: "w1", result: StoreFixture.failure, now: f.now))
            #expect(job.state == .failed)
            #expect(job.lastError == "exit code 1" && job.exitCode == 1)
            let delay = job.runAt.seconds(since: f.now)
            expectedDelays.append(delay)
            // Not eligible a millisecond early, eligible on time.
            f.advance(seconds: delay - 0.001)
            #expect(try f.store.claim(workerID: "w1", now: f.now) == .noJob)
            f.advance(seconds: 0.001)
        }
        #expect(expectedDelays == [3, 9, 27])
    }

    @Test func backoffIsCappedByBackoffMax() throws {
        try f.store.setConfig(.backoffBase, 10)
        try f.store.setConfig(.backoffMax, 15)
        try f.enqueue("a", maxRetries: 5)
        var delays: [Double] = []
        for _ in 0..<3 {
            let job = try #require(try f.store.finish(try f.claim("w1"), workerID: "w1", result: StoreFixture.failure, now: f.now))
            delays.append(job.runAt.seconds(since: f.now))
            f.now = job.runAt
        }
        #expect(delays == [10, 15, 15])
    }

    @Test func deadAfterMaxRetriesPlusOneRuns() throws {
        try f.store.setConfig(.backoffBase, 1)
        try f.enqueue("a", "exit 2", maxRetries: 2)
        let outcomes: [RunOutcome] = [.failed, .timedOut, .failed]
        var states: [JobState] = []
        for outcome in outcomes {
            let claimed = try f.claim("w1")
            let job = try #require(try f.store.finish(claimed, workerID: "w1", result: RunResult(outcome: outcome, exitCode: 2, error: "boom"), now: f.now))
            states.append(job.state)
            f.advance(seconds: 1)
        }
        #expect(states == [.failed, .failed, .dead])
        let dead = try f.store.job(id: "a")
        #expect(dead.attempts == 3 && dead.state == .dead)
        #expect(try f.store.claim(workerID: "w1", now: f.now.adding(seconds: 1e6)) == .noJob)
        #expect(try f.store.runs(jobID: "a").map(\.outcome) == [.failed, .timedOut, .failed])
        #expect(try f.store.runs(jobID: "a").map(\.attempt) == [1, 2, 3])
    }

    @Test func maxRetriesZeroIsDeadAfterOneFailedRun() throws {
        try f.enqueue("a", maxRetries: 0)
        let job = try f.store.finish(try f.claim("w1"), workerID: "w1", result: StoreFixture.failure, now: f.now)
        #expect(job?.state == .dead && job?.attempts == 1)
    }

    @Test func successAfterAFailureClearsTheError() throws {
        try f.store.setConfig(.backoffBase, 1)
        try f.enqueue("a")
        _ = try f.store.finish(try f.claim("w1"), workerID: "w1", result: StoreFixture.failure, now: f.now)
        f.advance(seconds: 1)
        let job = try f.store.finish(try f.claim("w1"), workerID: "w1", result: StoreFixture.success, now: f.now)
        #expect(job?.state == .completed && job?.lastError == nil && job?.exitCode == 0 && job?.attempts == 2)
    }

    @Test func finishingTwiceIsRefused() throws {
        try f.enqueue("a")
        let claimed = try f.claim("w1")
        #expect(try f.store.finish(claimed, workerID: "w1", result: StoreFixture.failure, now: f.now) != nil)
        let after = try f.store.job(id: "a")
        #expect(try f.store.finish(claimed, workerID: "w1", result: StoreFixture.success, now: f.now) == nil)
        #expect(try f.store.job(id: "a") == after)
    }

    @Test func anotherWorkerCannotFinishAJobItDoesNotHold() throws {
        try f.worker("w2")
        try f.enqueue("a")
        let claimed = try f.claim("w1")
        #expect(try f.store.finish(claimed, workerID: "w2", result: StoreFixture.success, now: f.now) == nil)
        #expect(try f.store.job(id: "a").state == .processing)
        #expect(try f.store.job(id: "a").workerID == "w1")
        #expect(try f.store.runIsActive(runID: claimed.runID))
    }

    @Test func staleWorkerCannotOverwriteTheNextClaimant() throws {
        try f.store.setConfig(.backoffBase, 1)
        let w1 = try #require(try f.workerRow("w1"))
        try f.worker("w2")
        try f.enqueue("a")
        let stale = try f.claim("w1")
        // w1 stops heartbeating; recovery releases it and w2 takes the retry.
        f.advance(seconds: 30)
        _ = try f.release(w1, .leaseExpired(seconds: 30))
        f.advance(seconds: 1)
        let current = try f.claim("w2")
        #expect(current.job.attempts == 2)

        // w1 wakes up and reports success for its old run: refused, nothing changes.
        #expect(try f.store.finish(stale, workerID: "w1", result: StoreFixture.success, now: f.now) == nil)
        let job = try f.store.job(id: "a")
        #expect(job.state == .processing && job.workerID == "w2" && job.attempts == 2)
        let runs = try f.store.runs(jobID: "a")
        #expect(runs.map(\.outcome) == [.interrupted, nil])
        #expect(runs.map(\.workerID) == ["w1", "w2"])

        // The holder's result is the one recorded.
        #expect(try f.store.finish(current, workerID: "w2", result: StoreFixture.failure, now: f.now)?.state == .failed)
        #expect(try f.store.runs(jobID: "a").map(\.outcome) == [.interrupted, .failed])
    }

    @Test func fenceHoldsEvenWhenTheSameWorkerIdClaimsAgain() throws {
        // A stale result from attempt 1 must not land on attempt 2, even for the same worker id.
        try f.store.setConfig(.backoffBase, 1)
        let w1 = try #require(try f.workerRow("w1"))
        try f.enqueue("a")
        let attempt1 = try f.claim("w1")
        _ = try f.release(w1, .processExited)
        try f.worker("w1")
        f.advance(seconds: 1)
        let attempt2 = try f.claim("w1")
        #expect(attempt2.job.attempts == 2)
        #expect(try f.store.finish(attempt1, workerID: "w1", result: StoreFixture.success, now: f.now) == nil)
        #expect(try f.store.job(id: "a").state == .processing)
        #expect(try f.store.runIsActive(runID: attempt2.runID))
    }

    @Test func releasedWorkerCannotRecordAfterTheJobWentToRetry() throws {
        let w1 = try #require(try f.workerRow("w1"))
        try f.enqueue("a")
        let claimed = try f.claim("w1")
        _ = try f.release(w1, .processExited)
        let afterRelease = try f.store.job(id: "a")
        #expect(afterRelease.state == .failed)
        #expect(try f.store.finish(claimed, workerID: "w1", result: StoreFixture.success, now: f.now) == nil)
        #expect(try f.store.job(id: "a") == afterRelease)
        #expect(try f.store.heartbeat(workerID: "w1", jobsDone: 0) == nil)
    }
}
