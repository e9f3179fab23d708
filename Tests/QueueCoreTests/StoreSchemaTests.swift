import Foundation
import GRDB
import Testing
@testable import QueueCore
@testable import QueueSQLite

/// The schema's cost decisions: small pages, a list index without completed jobs,
/// and per-job commits that leave worker rows alone.
@Suite struct StoreSchemaTests {
    let f: StoreFixture

    init() throws { f = try StoreFixture() }

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
        _ = try f.store.finish(claimed, workerID: "w1", result: StoreFixture.success, now: f.now)
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
        _ = try f.store.finish(claimed, workerID: "w1", result: StoreFixture.success, now: f.now)
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

    @Test func aVersion1DatabaseIsMigratedInPlace() throws {
        // Build a database with only the first migration, holding jobs, then open it.
        let directory = f.directory + "/old"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/queue.db"
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteJobStore.migrator.migrate(queue, upTo: "v1")
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO jobs (id, command, state, max_retries, run_at, created_at, updated_at)
                    VALUES ('old-1', 'true', 'completed', 3, 0, 0, 0), ('old-2', 'true', 'pending', 3, 0, 0, 0)
                    """)
            }
        }
        let store = try SQLiteJobStore(location: DatabaseLocation(path: path))
        #expect(try store.jobs(state: .pending, limit: 10).map(\.id) == ["old-2"])
        #expect(try store.jobs(state: .completed, limit: 10).map(\.id) == ["old-1"])
        let indexSQL = try store.read { db in try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'jobs_state'") }
        #expect(indexSQL?.contains("WHERE state <> 'completed'") == true)
    }
}
