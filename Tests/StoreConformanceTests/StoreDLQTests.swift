import Foundation
import Testing
@testable import QueueCore

/// `dlq retry`: dead jobs go back to pending with attempts reset; any id that is
/// unknown or not dead fails the whole call and changes nothing.
@Suite struct StoreDLQTests {
    let f: StoreFixture
    init() throws {
        f = try StoreFixture()
        try f.worker("w1")
    }

    /// Makes `id` dead after one failed run.
    func makeDead(_ id: String) throws {
        try f.enqueue(id, maxRetries: 0)
        let job = try f.store.finish(try f.claim("w1"), workerID: "w1", result: StoreFixture.failure, now: f.now)
        #expect(job?.state == .dead)
    }

    @Test func retryResetsAttemptsAndMakesTheJobEligibleNow() throws {
        try makeDead("d1")
        f.advance(seconds: 60)
        let retried = try f.store.retryDead(ids: ["d1"], now: f.now)
        #expect(retried.map(\.id) == ["d1"])
        let job = try f.store.job(id: "d1")
        #expect(job.state == .pending && job.attempts == 0 && job.runAt == f.now && job.workerID == nil)
        #expect(try f.store.counts()[.dead] == 0)
        #expect(try f.store.counts()[.pending] == 1)

        // It gets its full max_retries + 1 runs again, and history keeps the old run.
        let claimed = try f.claim("w1")
        #expect(claimed.job.attempts == 1)
        _ = try f.store.finish(claimed, workerID: "w1", result: StoreFixture.success, now: f.now)
        #expect(try f.store.runs(jobID: "d1").map(\.outcome) == [.failed, .succeeded])
    }

    @Test func retryingSeveralAtOnceAndRepeatedIds() throws {
        try makeDead("d1")
        try makeDead("d2")
        let retried = try f.store.retryDead(ids: ["d2", "d1", "d2"], now: f.now)
        #expect(retried.map(\.id) == ["d2", "d1"])
        #expect(try f.store.counts()[.pending] == 2)
        #expect(try f.assertCountsConsistent())
    }

    @Test func aJobThatIsNotDeadIsRejectedAndNothingChanges() throws {
        try makeDead("d1")
        try f.enqueue("p1")
        let before = try f.store.jobs(state: nil, limit: 10, offset: 0)
        let error = #expect(throws: QueueError.self) { try f.store.retryDead(ids: ["d1", "p1"], now: f.now) }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("p1") == true)
        #expect(try f.store.jobs(state: nil, limit: 10, offset: 0) == before)
        #expect(try f.store.counts()[.dead] == 1)
    }

    @Test func unknownIdIsNotFoundAndNothingChanges() throws {
        try makeDead("d1")
        let before = try f.store.job(id: "d1")
        let error = #expect(throws: QueueError.self) { try f.store.retryDead(ids: ["d1", "missing"], now: f.now) }
        #expect(error?.kind == .notFound)
        #expect(try f.store.job(id: "d1") == before)
        #expect(try f.store.counts()[.dead] == 1)
        #expect(try f.store.counts()[.pending] == 0)
    }

    @Test func completedAndProcessingJobsAreNotDead() throws {
        try f.enqueue("c")
        _ = try f.store.finish(try f.claim("w1"), workerID: "w1", result: StoreFixture.success, now: f.now)
        try f.enqueue("r")
        _ = try f.claim("w1")
        for id in ["c", "r"] {
            let before = try f.store.job(id: id)
            #expect(throws: QueueError.self) { try f.store.retryDead(ids: [id], now: f.now) }
            #expect(try f.store.job(id: id) == before)
        }
    }
}
