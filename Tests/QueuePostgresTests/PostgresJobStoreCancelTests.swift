import Foundation
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresJobStoreCancelTests {
    @Test func cancelEndsWaitingJobsAndMarksRunningOnes() throws {
        let f = try PostgresQueueFixture()
        try f.put("p1", .pending)
        try f.put("s1", .scheduled, runAt: f.now.adding(seconds: 60))
        try f.put("f1", .failed)
        try f.put("r1", .processing)
        let report = try f.store.cancel(ids: ["r1", "f1", "p1", "s1", "p1"], now: f.now)
        #expect(report.cancelled == ["f1", "p1", "s1"])
        #expect(report.stopping == ["r1"])
        #expect(report.dependents.isEmpty)
        let p1 = try f.job("p1")
        #expect(p1.state == .cancelled && p1.lastError == Cancellation.requestedReason)
        let r1 = try f.job("r1")
        #expect(r1.state == .processing && r1.cancelRequested && r1.workerID == "w1")
        #expect(try f.events("p1") == ["cancelled: \(Cancellation.requestedReason)"])
        #expect(try f.events("r1") == ["cancel_requested: the worker stops the run"])
        #expect(try f.counted(.cancelled) == 3)
    }

    @Test func cancelCascadesDownDependencyChains() throws {
        let f = try PostgresQueueFixture()
        try f.put("a", .pending)
        try f.put("b", .blocked, dependsOn: ["a"])
        try f.put("c", .blocked, dependsOn: ["b"])
        try f.put("x", .pending)
        let report = try f.store.cancel(ids: ["a"], now: f.now)
        #expect(report.cancelled == ["a"])
        #expect(report.dependents == ["b", "c"])
        #expect(try f.job("b").lastError == Cancellation.dependencyReason(dependency: "a", state: .cancelled))
        #expect(try f.job("c").lastError == "dependency b ended cancelled")
        #expect(try f.state("x") == .pending)
        #expect(try f.events("c") == ["cancelled: dependency b ended cancelled"])
    }

    @Test func cancelIsAllOrNothing() throws {
        let f = try PostgresQueueFixture()
        try f.put("p1", .pending)
        try f.put("d1", .dead)
        let final = try #require(throws: QueueError.self) { try f.store.cancel(ids: ["p1", "d1"], now: f.now) }
        #expect(final == .conflict("job 'd1' is already dead; nothing was cancelled"))
        let missing = try #require(throws: QueueError.self) { try f.store.cancel(ids: ["p1", "nope"], now: f.now) }
        #expect(missing == .notFound("no job with id 'nope'; nothing was cancelled"))
        #expect(try f.state("p1") == .pending)
        #expect(try f.count("events") == 0)
    }

    @Test func cancelAllGoesInBatchesAndReportsEach() throws {
        let f = try PostgresQueueFixture()
        let total = PostgresJobStore.cancelBatchSize + 3
        try f.session.execute("""
            INSERT INTO jobs (id, command, state, max_retries, run_at, created_at, updated_at)
            SELECT 'p-' || lpad(n::text, 4, '0'), 'true', 'pending', 2, 0, 0, 0 FROM generate_series(1, \(total)) AS n
            """)
        try f.put("dep", .blocked, dependsOn: ["p-0001"])
        try f.put("r1", .processing)
        var batches: [Int] = []
        let report = try f.store.cancelAll(in: .pending, now: f.now) { batches.append($0.cancelled.count) }
        #expect(batches == [PostgresJobStore.cancelBatchSize, 3])
        #expect(report.cancelled.count == total)
        #expect(report.cancelled.first == "p-0001")
        #expect(report.dependents == ["dep"])
        #expect(try f.state("r1") == .processing)
        #expect(try f.counted(.pending) == 0)
    }

    @Test func cancelAllRunningMarksEachOnce() throws {
        let f = try PostgresQueueFixture()
        try f.put("r1", .processing)
        try f.put("r2", .processing)
        #expect(try f.store.cancelAll(in: .processing, now: f.now, progress: { _ in }).stopping == ["r1", "r2"])
        #expect(try f.store.cancelAll(in: .processing, now: f.now, progress: { _ in }).stopping.isEmpty)
        #expect(try f.events("r1").count == 1)
    }

    @Test func cancelAllOfAFinalStateIsRefused() throws {
        let f = try PostgresQueueFixture()
        let error = try #require(throws: QueueError.self) { try f.store.cancelAll(in: .completed, now: f.now, progress: { _ in }) }
        #expect(error == .invalidInput("jobs that are completed are final and cannot be cancelled"))
    }
}
