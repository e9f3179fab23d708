import Foundation
import Testing
@testable import QueueCore

/// Queues in the store: counts per queue that follow every transition and add up
/// to the totals, and each queue's oldest waiting job.
@Suite struct StoreQueueTests {
    let f: StoreFixture
    init() throws { f = try StoreFixture() }

    @Test func countsPerQueueFollowEveryTransitionAndSumToTheTotals() throws {
        try f.worker("w1")
        _ = try f.store.enqueue([try JobSpec(id: "m1", command: "true", queue: "mail"),
                                 try JobSpec(id: "m2", command: "true", delaySeconds: 60, queue: "mail"),
                                 try JobSpec(id: "d1", command: "true")], now: f.now)
        _ = try f.store.finish(try f.claim("w1"), workerID: "w1", result: StoreFixture.failure, now: f.now)
        let queues = Dictionary(uniqueKeysWithValues: try f.store.queues().map { ($0.name, $0) })
        #expect(queues.keys.sorted() == ["default", "mail"])
        let mail = try #require(queues["mail"]).counts, main = try #require(queues["default"]).counts
        let total = try f.store.counts()
        for state in JobState.allCases { #expect(mail[state] + main[state] == total[state], "\(state)") }
        #expect(mail[.scheduled] == 1 && mail[.pending] + mail[.failed] == 1 && main[.pending] + main[.failed] == 1)
        #expect(try f.assertCountsConsistent())
    }

    @Test func latencyIsTheOldestDueJobAcrossPriorities() throws {
        let first = f.now
        _ = try f.store.enqueue([try JobSpec(id: "low-old", command: "true", priority: -3, queue: "q")], now: first)
        f.advance(seconds: 5)
        _ = try f.store.enqueue([try JobSpec(id: "high", command: "true", priority: 7, queue: "q"),
                                 try JobSpec(id: "mid", command: "true", priority: 2, queue: "q"),
                                 try JobSpec(id: "later", command: "true", delaySeconds: 60, queue: "q")], now: f.now)
        let q = try #require(try f.store.queues().first { $0.name == "q" })
        #expect(q.oldestWaitingSince == first)
        #expect(q.latency(now: f.now) == 5)
        #expect(try f.store.queues().first { $0.name == "default" }?.oldestWaitingSince == nil)
    }


}
