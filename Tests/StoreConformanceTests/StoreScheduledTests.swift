import Foundation
import Testing
@testable import QueueCore

/// Work that is not due waits apart: enqueued for later it is `scheduled`, waiting
/// for a retry it is `failed`, and a claim promotes it to `pending` when its time
/// comes, so future work never stands in the way of due work. (How the SQLite
/// store keeps it out of the claim's index: QueueSQLiteTests.)
@Suite struct StoreScheduledTests {
    let f: StoreFixture
    init() throws { f = try StoreFixture() }

    @Test func futureWorkIsScheduledAndDueWorkIsTakenFirst() throws {
        try f.worker("w1")
        for i in 0..<300 { try f.enqueue("later-\(i)", priority: 10, delay: Double(60 + i)) }
        try f.enqueue("retry", maxRetries: 3)
        _ = try f.store.finish(try f.claim("w1"), workerID: "w1", result: StoreFixture.failure, now: f.now)
        try f.enqueue("now", priority: -5)

        #expect(try f.store.job(id: "later-0").state == .scheduled)
        #expect(try f.store.job(id: "retry").state == .failed)
        #expect(try f.store.counts()[.scheduled] == 300)
        #expect(try f.assertCountsConsistent())
        // A lower-priority due job is taken at once, not after the 300 later ones.
        #expect(try f.claim("w1").job.id == "now")
        // The next wake-up is the earliest wait: the retry's backoff, before the delays.
        let retryAt = try f.store.job(id: "retry").runAt
        #expect(try f.store.nextRunAt() == retryAt)
    }

    @Test func dueJobsArePromotedByTheClaimInPriorityOrder() throws {
        try f.worker("w1")
        try f.enqueue("low", priority: 0, delay: 5)
        try f.enqueue("high", priority: 9, delay: 10)
        try f.enqueue("not-yet", priority: 99, delay: 60)
        f.advance(seconds: 10)
        #expect(try f.store.job(id: "low").state == .scheduled, "nothing changes until a worker looks")
        #expect(try f.drainOrder("w1") == ["high", "low"])
        #expect(try f.store.job(id: "not-yet").state == .scheduled)
        #expect(try f.assertCountsConsistent())
        #expect(try f.store.nextRunAt() == f.now.adding(seconds: 50))
    }


}
