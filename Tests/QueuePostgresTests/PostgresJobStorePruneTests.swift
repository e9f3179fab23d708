import Foundation
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresJobStorePruneTests {
    @Test func deleteFinalDeletesOldJobsOnlyAndCountsOnDryRun() throws {
        let f = try PostgresQueueFixture()
        let old = f.now.adding(seconds: -7200)
        try f.put("old1", .completed, updatedAt: old)
        try f.put("old2", .completed, updatedAt: old)
        try f.put("new1", .completed)
        try f.put("dead1", .dead, updatedAt: old)
        try f.addRun("old1")
        let cutoff = f.now.adding(seconds: -3600)
        #expect(try f.store.deleteFinal(state: .completed, updatedBefore: cutoff, dryRun: true) == 2)
        #expect(try f.count("jobs") == 4)
        #expect(try f.store.deleteFinal(state: .completed, updatedBefore: cutoff, dryRun: false) == 2)
        #expect(try f.state("old1") == nil)
        #expect(try f.state("new1") == .completed)
        #expect(try f.state("dead1") == .dead)
        #expect(try f.count("runs") == 0)
        #expect(try f.count("run_output") == 0)
        #expect(try f.counted(.completed) == 1)
    }

    @Test func aJobThatAWaitingJobDependsOnIsKept() throws {
        let f = try PostgresQueueFixture()
        try f.put("parent", .dead)
        try f.put("child", .blocked, dependsOn: ["parent"])
        try f.put("other", .dead)
        #expect(try f.store.deleteFinal(state: .dead, updatedBefore: nil, dryRun: false) == 1)
        #expect(try f.state("parent") == .dead)
        #expect(try f.state("other") == nil)
    }

    @Test func deletingADependentRemovesItsEdges() throws {
        let f = try PostgresQueueFixture()
        try f.put("parent", .completed)
        try f.put("child", .cancelled, dependsOn: ["parent"])
        #expect(try f.store.deleteFinal(state: .cancelled, updatedBefore: nil, dryRun: false) == 1)
        #expect(try f.count("job_dependencies") == 0)
    }

    @Test func pruneBatchIsBounded() throws {
        let f = try PostgresQueueFixture()
        let total = PostgresJobStore.bulkBatchSize + 10
        try f.session.execute("""
            INSERT INTO jobs (id, command, state, max_retries, run_at, created_at, updated_at)
            SELECT 'c-' || n, 'true', 'completed', 2, 0, 0, 0 FROM generate_series(1, \(total)) AS n
            """)
        #expect(try f.store.pruneBatch(state: .completed, updatedBefore: nil) == PostgresJobStore.bulkBatchSize)
        #expect(try f.store.pruneBatch(state: .completed, updatedBefore: nil) == 10)
        #expect(try f.count("jobs") == 0)
    }

    @Test func onlyFinalStatesArePruned() throws {
        let f = try PostgresQueueFixture()
        let error = try #require(throws: QueueError.self) { try f.store.pruneBatch(state: .pending, updatedBefore: nil) }
        #expect(error.kind == .invalidInput)
    }
}
