import Foundation
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresJobStoreRerunTests {
    @Test func retryDeadResetsAttemptsAndRecordsAnEvent() throws {
        let f = try PostgresQueueFixture()
        try f.put("d1", .dead, attempts: 3, lastError: "boom")
        try f.put("d2", .dead, attempts: 3)
        let later = f.now.adding(seconds: 5)
        let jobs = try f.store.retryDead(ids: ["d2", "d1", "d2"], now: later)
        #expect(jobs.map(\.id) == ["d2", "d1"])
        #expect(jobs.allSatisfy { $0.state == .pending && $0.attempts == 0 && $0.runAt == later && $0.workerID == nil })
        #expect(try f.events("d1") == ["retried: dlq retry"])
        #expect(try f.counted(.pending) == 2)
    }

    @Test func retryDeadIsAllOrNothing() throws {
        let f = try PostgresQueueFixture()
        try f.put("d1", .dead)
        try f.put("p1", .pending)
        let wrong = try #require(throws: QueueError.self) { try f.store.retryDead(ids: ["d1", "p1"], now: f.now) }
        #expect(wrong == .invalidInput("job 'p1' is pending, not dead; nothing was retried"))
        let missing = try #require(throws: QueueError.self) { try f.store.retryDead(ids: ["d1", "nope"], now: f.now) }
        #expect(missing.kind == .notFound)
        #expect(try f.state("d1") == .dead)
        #expect(try f.events("d1").isEmpty)
    }

    @Test func retryAllDeadGoesInBatches() throws {
        let f = try PostgresQueueFixture()
        let total = PostgresJobStore.bulkBatchSize + 7
        try f.session.execute("""
            INSERT INTO jobs (id, command, state, attempts, max_retries, run_at, created_at, updated_at, cancel_requested)
            SELECT 'dead-' || n, 'true', 'dead', 3, 2, 0, 0, 0, TRUE FROM generate_series(1, \(total)) AS n
            """)
        try f.put("c1", .completed)
        #expect(try f.store.retryAllDead(now: f.now) == total)
        #expect(try f.session.query("SELECT count(*) FROM jobs WHERE state = 'pending' AND attempts = 0 AND NOT cancel_requested").first!.decode(Int.self) == total)
        #expect(try f.state("c1") == .completed)
        #expect(try f.count("events") == total)
    }

    @Test func deleteDeadRemovesJobsWithRunsOutputAndEvents() throws {
        let f = try PostgresQueueFixture()
        try f.put("d1", .dead)
        try f.put("d2", .dead)
        try f.addRun("d1")
        _ = try f.store.retryDead(ids: ["d2"], now: f.now)
        try f.session.execute("UPDATE jobs SET state = 'dead' WHERE id = 'd2'")
        #expect(try f.store.deleteDead(ids: ["d2", "d1"]) == ["d2", "d1"])
        #expect(try f.count("jobs") == 0)
        #expect(try f.count("runs") == 0)
        #expect(try f.count("run_output") == 0)
        #expect(try f.count("events") == 0)
        #expect(try f.counted(nil) == 0)
    }

    @Test func deleteDeadIsAllOrNothing() throws {
        let f = try PostgresQueueFixture()
        try f.put("d1", .dead)
        try f.put("c1", .completed)
        let wrong = try #require(throws: QueueError.self) { try f.store.deleteDead(ids: ["d1", "c1"]) }
        #expect(wrong == .conflict("job 'c1' is completed, not dead; nothing was deleted"))
        let missing = try #require(throws: QueueError.self) { try f.store.deleteDead(ids: ["zz", "d1"]) }
        #expect(missing.kind == .notFound)
        #expect(try f.count("jobs") == 2)
    }

    @Test func deleteAllDeadKeepsOthers() throws {
        let f = try PostgresQueueFixture()
        for n in 1...3 { try f.put("d\(n)", .dead) }
        try f.put("c1", .completed)
        #expect(try f.store.deleteAllDead() == 3)
        #expect(try f.count("jobs") == 1)
    }

    @Test func requeueCopiesFinalJobs() throws {
        let f = try PostgresQueueFixture()
        try f.put("c1", .completed, queue: "mail", priority: 4)
        let copies = try f.store.requeue(ids: ["c1"], now: f.now)
        let copy = try #require(copies.first)
        #expect(copy.id != "c1")
        #expect(copy.state == .pending && copy.queue == "mail" && copy.priority == 4 && copy.requeuedFrom == "c1")
        #expect(try f.events("c1") == ["requeued: as \(copy.id)"])
    }

    @Test func requeueRefusesWaitingJobsAndChangesNothing() throws {
        let f = try PostgresQueueFixture()
        try f.put("c1", .completed)
        try f.put("p1", .pending)
        let error = try #require(throws: QueueError.self) { try f.store.requeue(ids: ["c1", "p1"], now: f.now) }
        #expect(error == .conflict("job 'p1' is pending; only completed, dead or cancelled jobs can be requeued; nothing was requeued"))
        #expect(try f.count("jobs") == 2)
        #expect(try f.events("c1").isEmpty)
    }

    @Test func requeueRefusesWhileTheUniqueKeyIsHeldAndKeepsDependencies() throws {
        let f = try PostgresQueueFixture()
        try f.put("parent", .completed)
        try f.put("c1", .dead, dependsOn: ["parent"], uniqueKey: "k")
        let copy = try #require(try f.store.requeue(ids: ["c1"], now: f.now).first)
        #expect(copy.uniqueKey == "k" && copy.dependsOn == ["parent"] && copy.state == .pending)
        #expect(try f.store.dependents(of: "parent", limit: 10).map(\.id) == ["c1", copy.id])
        let held = try #require(throws: QueueError.self) { try f.store.requeue(ids: ["c1"], now: f.now) }
        #expect(held == .conflict("job 'c1': its unique_key is held by job '\(copy.id)' (pending); nothing was requeued"))
        #expect(try f.count("jobs") == 3)
    }

    @Test func runNowMakesWaitingJobsDue() throws {
        let f = try PostgresQueueFixture()
        let ahead = f.now.adding(seconds: 3600)
        try f.put("s1", .scheduled, runAt: ahead)
        try f.put("f1", .failed, runAt: ahead, attempts: 1)
        let jobs = try f.store.runNow(ids: ["s1", "f1"], now: f.now)
        #expect(jobs.map(\.id) == ["s1", "f1"])
        #expect(jobs.allSatisfy { $0.state == .pending && $0.runAt == f.now })
        #expect(try f.events("s1") == ["run_now"])
    }

    @Test func runNowRefusesBlockedAndFinalJobs() throws {
        let f = try PostgresQueueFixture()
        try f.put("a", .pending)
        try f.put("b", .blocked, dependsOn: ["a"])
        try f.put("s1", .scheduled, runAt: f.now.adding(seconds: 60))
        let blocked = try #require(throws: QueueError.self) { try f.store.runNow(ids: ["s1", "b"], now: f.now) }
        #expect(blocked == .conflict("job 'b' is blocked; it waits for its dependencies; only scheduled, failed or pending jobs can be run now; nothing was changed"))
        #expect(try f.state("s1") == .scheduled)
    }
}
