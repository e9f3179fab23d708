import Foundation
import Testing
@testable import QueueCore

/// The per-state counters `status` reads are kept by triggers and by enqueue; they
/// must always equal what the jobs table holds.
@Suite struct StoreCountsTests {
    let f: StoreFixture
    init() throws { f = try StoreFixture() }

    func counts() throws -> [Int] { let c = try f.store.counts(); return [JobState.pending, .processing, .completed, .failed, .dead, .scheduled].map { c[$0] } }

    @Test func everyStateIsReportedEvenWhenZero() throws {
        let c = try f.store.counts()
        #expect(Set(c.counts.keys) == Set(JobState.allCases))
        #expect(c.total == 0)
        guard case let .object(members) = c.json else { Issue.record("not an object"); return }
        #expect(members.map(\.0) == ["pending", "blocked", "processing", "completed", "failed", "dead", "scheduled", "cancelled"])
    }

    /// What `status` and the dashboard read in one go is what the two reads give.
    @Test func countsAndWorkersTogetherEqualTheTwoReads() throws {
        let empty = try f.store.countsAndWorkers()
        #expect(empty.counts == (try f.store.counts()))
        #expect(empty.workers.isEmpty)
        try f.worker("w2")
        f.advance(seconds: 1)
        try f.worker("w1")
        _ = try f.store.enqueue((0..<3).map { try JobSpec(id: "j\($0)", command: "true") }, now: f.now)
        _ = try f.claim("w1")
        let both = try f.store.countsAndWorkers()
        #expect(both.counts == (try f.store.counts()))
        #expect(both.counts[.pending] == 2 && both.counts[.processing] == 1)
        #expect(both.workers == (try f.store.workers()))
        #expect(both.workers.map(\.id) == ["w2", "w1"], "oldest first")
        #expect(both.workers.map(\.state) == [.idle, .busy])
    }

    @Test func countsFollowEveryTransition() throws {
        try f.store.setConfig(.backoffBase, 1)
        let w1 = try f.worker("w1")
        // [pending, processing, completed, failed, dead, scheduled]
        _ = try f.store.enqueue((0..<6).map { try JobSpec(id: "j\($0)", command: "true", maxRetries: 1, priority: $0 < 2 ? 1 : 0) }, now: f.now)
        #expect(try counts() == [6, 0, 0, 0, 0, 0])
        let a = try f.claim("w1")
        #expect(try counts() == [5, 1, 0, 0, 0, 0])
        _ = try f.store.finish(a, workerID: "w1", result: StoreFixture.success, now: f.now)
        #expect(try counts() == [5, 0, 1, 0, 0, 0])
        _ = try f.store.finish(try f.claim("w1"), workerID: "w1", result: StoreFixture.failure, now: f.now)
        #expect(try counts() == [4, 0, 1, 1, 0, 0])
        // A refused (stale) finish changes nothing.
        _ = try f.store.finish(a, workerID: "w1", result: StoreFixture.failure, now: f.now)
        #expect(try counts() == [4, 0, 1, 1, 0, 0])
        f.advance(seconds: 1)
        // j1's second run fails too: max_retries 1 → dead.
        let retry = try f.claim("w1")
        #expect(retry.job.id == "j1")
        #expect(try counts() == [4, 1, 1, 0, 0, 0])
        _ = try f.store.finish(retry, workerID: "w1", result: StoreFixture.failure, now: f.now)
        #expect(try counts() == [4, 0, 1, 0, 1, 0])
        _ = try f.claim("w1")
        _ = try f.release(w1, .processExited)
        #expect(try counts() == [3, 0, 1, 1, 1, 0])
        _ = try f.store.retryDead(ids: ["j1"], now: f.now)
        #expect(try counts() == [4, 0, 1, 1, 0, 0])
        #expect(throws: QueueError.self) { try f.store.enqueue([JobSpec(id: "j0", command: "true")], now: f.now) }
        #expect(try counts() == [4, 0, 1, 1, 0, 0])
        #expect(try f.assertCountsConsistent())
    }
}
