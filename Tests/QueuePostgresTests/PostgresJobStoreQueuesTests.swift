import Foundation
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresJobStoreQueuesTests {
    @Test func queuesSummariseCountsLimitsPausesAndLatency() throws {
        let f = try PostgresQueueFixture()
        try f.put("a1", .pending, queue: "a", priority: 5, runAt: f.now.adding(seconds: -10))
        try f.put("a2", .pending, queue: "a", priority: 0, runAt: f.now.adding(seconds: -30))
        try f.put("a3", .processing, queue: "a")
        try f.put("B1", .completed, queue: "B")
        try f.store.setConcurrency(queue: "a", 2)
        try f.store.setPaused(true, queues: ["B"])
        let queues = try f.store.queues()
        #expect(queues.map(\.name) == ["B", "a", "default"])
        let a = try #require(queues.first { $0.name == "a" })
        #expect(a.counts[.pending] == 2 && a.counts[.processing] == 1 && a.running == 1)
        #expect(a.concurrency == 2 && !a.paused)
        #expect(a.oldestWaitingSince == f.now.adding(seconds: -30))
        let b = try #require(queues.first { $0.name == "B" })
        #expect(b.paused && b.counts[.completed] == 1 && b.oldestWaitingSince == nil)
        #expect(try f.store.processingCount(queues: ["a", "B"]) == 1)
        #expect(try f.store.processingCount(queues: ["B"]) == 0)
    }

    @Test func concurrencyZeroOrNilRemovesTheCap() throws {
        let f = try PostgresQueueFixture()
        try f.store.setConcurrency(queue: "new", 0)
        #expect(try f.store.queues().first { $0.name == "new" }?.concurrency == nil)
        try f.store.setConcurrency(queue: "new", 3)
        try f.store.setConcurrency(queue: "new", nil)
        #expect(try f.store.queues().first { $0.name == "new" }?.concurrency == nil)
        let error = try #require(throws: QueueError.self) { try f.store.setConcurrency(queue: "typo", nil) }
        #expect(error == .notFound("no queue named 'typo'"))
        #expect(try f.store.queues().map(\.name) == ["default", "new"])
    }

    @Test func pauseCreatesResumeRequiresAndNilMeansAll() throws {
        let f = try PostgresQueueFixture()
        #expect(try f.store.setPaused(true, queues: ["later"]) == ["later"])
        #expect(try f.store.queues().first { $0.name == "later" }?.paused == true)
        let error = try #require(throws: QueueError.self) { try f.store.setPaused(false, queues: ["later", "typo"]) }
        #expect(error == .notFound("no queue named 'typo'"))
        #expect(try f.store.queues().first { $0.name == "later" }?.paused == true)
        #expect(try f.store.setPaused(true, queues: nil) == ["default", "later"])
        #expect(try f.store.queues().allSatisfy(\.paused))
        #expect(try f.store.setPaused(false, queues: nil) == ["default", "later"])
        #expect(try f.store.queues().allSatisfy { !$0.paused })
    }

    @Test func resumingWakesWorkers() throws {
        let f = try PostgresQueueFixture()
        try f.store.setPaused(true, queues: ["default"])
        let signal = try f.store.changeSignal(.work)
        signal.drain()
        try f.store.setPaused(false, queues: ["default"])
        #expect(signal.wait(seconds: 5))
    }

    @Test func badQueueNamesAreRefused() throws {
        let f = try PostgresQueueFixture()
        #expect(throws: QueueError.self) { try f.store.setPaused(true, queues: ["no spaces"]) }
        #expect(throws: QueueError.self) { try f.store.setConcurrency(queue: "", 1) }
    }
}
