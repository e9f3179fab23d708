import Foundation
import GRDB
import Testing
@testable import QueueCore
@testable import QueueSQLite

/// The schema's cost decisions: small pages, a list index without completed jobs,
/// per-job commits that leave worker rows alone, a claim index that holds only due
/// work, and reads that seek their indexes.
@Suite struct SQLiteSchemaTests {
    let f: SQLiteFixture

    init() throws { f = try SQLiteFixture() }

    private func plan(_ sql: String) throws -> String {
        try f.store.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined(separator: "; ")
        }
    }

    @Test func newDatabasesUseSmallPages() throws {
        let size = try f.store.read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") }
        #expect(size == SQLiteJobStore.pageSize)
    }

    @Test func listsOfWaitingRunningAndDeadJobsReadThePartialIndex() throws {
        for state in [JobState.pending, .processing, .failed, .dead] {
            let detail = try plan("SELECT id FROM jobs WHERE \(state.selectionCondition()) ORDER BY seq LIMIT 50")
            #expect(detail.contains("USING INDEX jobs_state"), "\(state): \(detail)")
            #expect(!detail.contains("TEMP B-TREE"), "\(state) must not sort: \(detail)")
        }
        let completed = try plan("SELECT id FROM jobs WHERE \(JobState.completed.selectionCondition()) ORDER BY seq LIMIT 50")
        #expect(!completed.contains("jobs_state") && !completed.contains("TEMP B-TREE"), "\(completed)")
    }

    @Test func theIndexLeavesCompletedJobsOut() throws {
        try f.worker("w1")
        try f.enqueue("a")
        try f.enqueue("b")
        let claimed = try f.claim("w1")
        _ = try f.store.finish(claimed, workerID: "w1", result: SQLiteFixture.success, now: f.now)
        let indexed = try f.store.read { db in
            try String.fetchAll(db, sql: "SELECT state FROM jobs INDEXED BY jobs_state WHERE state <> 'completed'")
        }
        #expect(indexed == ["pending"])
        #expect(try f.store.jobs(state: .completed, limit: 10).map(\.id) == ["a"])
        #expect(try f.store.jobs(state: .pending, limit: 10).map(\.id) == ["b"])
    }

    @Test func claimsAndResultsDoNotWriteTheWorkerRow() throws {
        try f.worker("w1")
        try f.enqueue("a")
        let before = try f.store.read { db in try Row.fetchOne(db, sql: "SELECT * FROM workers WHERE id = 'w1'") }
        let claimed = try f.claim("w1")
        #expect(try f.workerRow("w1")?.jobID == "a")
        _ = try f.store.finish(claimed, workerID: "w1", result: SQLiteFixture.success, now: f.now)
        let after = try f.store.read { db in try Row.fetchOne(db, sql: "SELECT * FROM workers WHERE id = 'w1'") }
        #expect(before == after)
        #expect(try f.workerRow("w1")?.state == .idle)
    }

    @Test func anIdleWorkersEmptyClaimWritesNothing() throws {
        try f.worker("w1")
        let rowBefore = try f.store.read { db in try Row.fetchOne(db, sql: "SELECT * FROM workers WHERE id = 'w1'") }
        let changesBefore = try f.store.read { db in try Int.fetchOne(db, sql: "SELECT total_changes()") }
        let next = try f.store.settle([], workerID: "w1", claimLimit: 1, now: f.now).next
        #expect(next == .noJob)
        let changesAfter = try f.store.read { db in try Int.fetchOne(db, sql: "SELECT total_changes()") }
        #expect(changesAfter == changesBefore, "an empty claim changed \((changesAfter ?? 0) - (changesBefore ?? 0)) rows")
        #expect(try f.store.read { db in try Row.fetchOne(db, sql: "SELECT * FROM workers WHERE id = 'w1'") } == rowBefore)
    }

    /// SQLite evaluates a partial index's WHERE on every insert and update of the row;
    /// an IN list of more than two values there costs a temporary B-tree per
    /// statement run (OpenEphemeral), which once doubled the cost of a batch enqueue.
    @Test func writesToJobsBuildNoTemporaryBTree() throws {
        let statements = [
            "INSERT INTO jobs (id, command, state, attempts, max_retries, priority, run_at, created_at, updated_at) VALUES ('x', 'true', 'pending', 0, 3, 0, 0, 0, 0)",
            "UPDATE jobs SET state = 'processing', attempts = attempts + 1, worker_id = 'w' WHERE seq = 1",
            "UPDATE jobs SET state = 'completed', worker_id = NULL WHERE id = 'x' AND state = 'processing'",
            "DELETE FROM jobs WHERE id = 'x'",
        ]
        for sql in statements {
            let opcodes = try f.store.read { db in try Row.fetchAll(db, sql: "EXPLAIN " + sql).map { $0["opcode"] as String } }
            #expect(!opcodes.isEmpty)
            #expect(!opcodes.contains("OpenEphemeral"), "\(sql)")
        }
    }

    /// Entries of the claim's index, read through it.
    private func readyEntries() throws -> [String] {
        try f.store.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM jobs INDEXED BY jobs_ready WHERE \(SQLiteJobStore.readyCondition) ORDER BY priority DESC, run_at, seq")
        }
    }

    @Test func onlyDueWorkIsInTheClaimIndex() throws {
        try f.worker("w1")
        for i in 0..<300 { try f.enqueue("later-\(i)", priority: 10, delay: Double(60 + i)) }
        try f.enqueue("retry", maxRetries: 3)
        _ = try f.store.finish(try f.claim("w1"), workerID: "w1", result: SQLiteFixture.failure, now: f.now)
        try f.enqueue("now", priority: -5)
        #expect(try readyEntries() == ["now"], "only due work may be in the claim's index")
    }

    @Test func aBurstOfDueJobsIsPromotedInBoundedSteps() throws {
        try f.worker("w1")
        let total = SQLiteJobStore.promotionBatch + 50
        _ = try f.store.enqueue((0..<total).map { try JobSpec(id: "j\($0)", command: "true", delaySeconds: 1 + Double($0) / 1000) }, now: f.now)
        f.advance(seconds: 5)
        let first = try f.claim("w1")
        #expect(first.job.id == "j0")
        #expect(try f.store.counts()[.pending] == SQLiteJobStore.promotionBatch - 1)
        #expect(try f.store.counts()[.scheduled] == 50)
        // The rest follow on later claims, every job once, earliest first.
        _ = try f.store.finish(first, workerID: "w1", result: SQLiteFixture.success, now: f.now)
        #expect(try f.drainOrder("w1") == (1..<total).map { "j\($0)" })
        #expect(try f.assertCountsConsistent())
    }

    @Test func promotionAndWakeUpSeekTheDueIndex() throws {
        func plan(_ sql: String) throws -> String {
            try f.store.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: [0]).map { $0["detail"] as String }.joined(separator: "; ")
            }
        }
        let promote = try plan("SELECT seq FROM jobs INDEXED BY jobs_due WHERE \(SQLiteJobStore.dueCondition) AND run_at <= ? ORDER BY run_at LIMIT 10")
        #expect(promote.contains("SEARCH jobs USING INDEX jobs_due (run_at<?)") && !promote.contains("TEMP B-TREE"), "\(promote)")
        let claim = try plan("SELECT seq FROM jobs INDEXED BY jobs_ready WHERE \(SQLiteJobStore.readyCondition) AND queue = 'default' AND run_at <= ? ORDER BY priority DESC, run_at, seq LIMIT 1")
        #expect(claim.contains("SEARCH jobs USING INDEX jobs_ready (queue=?") && !claim.contains("TEMP B-TREE"), "\(claim)")
    }

    @Test func latencyReadsSeekIndexes() throws {
        for (sql, arguments) in [(SQLiteJobStore.oldestDueSQL, ["default"]), (SQLiteJobStore.firstDueSQL, [])] {
            let plan = try f.store.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: StatementArguments(arguments)).map { $0["detail"] as String }
            }
            // Every read of the jobs table goes through an index (the first entry of
            // jobs_due is read in its order, LIMIT 1), never the table itself.
            let reads = plan.filter { $0.contains(" jobs") }
            #expect(!reads.isEmpty && reads.allSatisfy { $0.contains("USING INDEX") || $0.contains("PRIMARY KEY") }, "\(plan)")
        }
    }
}
