import Foundation
import GRDB
import Testing
@testable import QueueCore
@testable import QueueSQLite

/// Databases made by older versions of queuectl are migrated in place when opened,
/// keeping their jobs, counts and run totals.
@Suite struct SQLiteMigrationTests {
    let f: SQLiteFixture
    init() throws { f = try SQLiteFixture() }

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

    @Test func aVersion3DatabaseMovesItsFutureJobsToScheduled() throws {
        let directory = f.directory + "/v3"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/queue.db"
        let future = Timestamp.now().milliseconds + 3_600_000
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteJobStore.migrator.migrate(queue, upTo: "v3-partial-index-without-in-list")
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO jobs (id, command, state, attempts, max_retries, run_at, created_at, updated_at)
                    VALUES ('due', 'true', 'pending', 0, 3, 0, 0, 0), ('later', 'true', 'pending', 0, 3, ?1, 0, 0),
                           ('retry', 'true', 'failed', 1, 3, ?1, 0, 0);
                    UPDATE job_counts SET n = 2 WHERE state = 'pending';
                    UPDATE job_counts SET n = 1 WHERE state = 'failed';
                    """, arguments: [future])
            }
        }
        let store = try SQLiteJobStore(location: DatabaseLocation(path: path))
        #expect(try store.job(id: "later").state == .scheduled)
        #expect(try store.job(id: "due").state == .pending)
        let counts = try store.counts()
        #expect(counts[.pending] == 1 && counts[.scheduled] == 1 && counts[.failed] == 1)
        #expect(try store.nextRunAt() == Timestamp(milliseconds: future))
    }

    @Test func aVersion4DatabaseKeepsItsCountsAndStillTakesNewStateRows() throws {
        let path = f.directory + "/v4.db"
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteJobStore.migrator.migrate(queue, upTo: "v4-scheduled-state")
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO jobs (id, command, state, attempts, max_retries, run_at, created_at, updated_at)
                    VALUES ('a', 'true', 'pending', 0, 3, 0, 0, 0), ('b', 'true', 'dead', 1, 0, 0, 0, 0);
                    UPDATE job_counts SET n = 1 WHERE state IN ('pending', 'dead');
                    """)
            }
        }
        let store = try SQLiteJobStore(location: DatabaseLocation(path: path))
        #expect(try store.counts()[.pending] == 1 && store.counts()[.dead] == 1)
        #expect(try store.job(id: "a").queue == "default")
        // A later migration adding a state inserts its count row as before.
        try store.write { db in try db.execute(sql: "INSERT INTO job_counts(state, n) VALUES ('archived', 0)") }
        let rows = try store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM queue_counts WHERE queue = 'default' AND state = 'archived'") }
        #expect(rows == 1)
    }

    /// A database created before "v4-run-totals" gets its finished runs counted
    /// once, by the migration; runs still going are counted when they finish.
    @Test func migrationCountsTheRunsAlreadyInTheHistory() throws {
        let path = f.directory + "/old.db"
        let queue = try DatabaseQueue(path: path)
        try SQLiteJobStore.migrator.migrate(queue, upTo: "v3-partial-index-without-in-list")
        try queue.write { db in
            for (id, started, finished, outcome) in [(1, 0, 20, "succeeded"), (2, 0, 3_000, "failed"), (3, 0, nil, nil) as (Int, Int, Int?, String?)] {
                try db.execute(sql: """
                    INSERT INTO runs (id, job_id, attempt, worker_id, queued_at, started_at, finished_at, outcome)
                    VALUES (?, 'j', 1, 'w', 0, ?, ?, ?)
                    """, arguments: [id, started, finished, outcome])
            }
        }
        try queue.close()
        let store = try SQLiteJobStore(location: DatabaseLocation(path: path))
        var metrics = try store.metrics(now: f.now)
        #expect(metrics.runs[.succeeded] == 1 && metrics.runs[.failed] == 1)
        #expect(metrics.runDuration.count == 2 && metrics.runDuration.sumMilliseconds == 3_020)
        try store.write { db in try db.execute(sql: "UPDATE runs SET finished_at = 50, outcome = 'interrupted' WHERE id = 3") }
        metrics = try store.metrics(now: f.now)
        #expect(metrics.runs[.interrupted] == 1 && metrics.runDuration.count == 3)
    }

    @Test func aVersion8DatabaseGetsTheRunsIndexWithOutcomes() throws {
        let path = f.directory + "/v8.db"
        let minute: Int64 = 60_000
        let base = (f.now.milliseconds / minute - 5) * minute
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteJobStore.migrator.migrate(queue, upTo: "v8-job-control")
            try queue.write { db in
                for (id, finished, outcome) in [(1, base + 1_000, "succeeded"), (2, base + 2_000, "failed"), (3, base + minute, "succeeded")] {
                    try db.execute(sql: """
                        INSERT INTO runs (id, job_id, attempt, worker_id, queued_at, started_at, finished_at, outcome)
                        VALUES (?, 'j', 1, 'w', 0, 0, ?, ?)
                        """, arguments: [id, finished, outcome])
                }
            }
            let old = try queue.read { db in try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'runs_finished'") }
            #expect(old?.contains("outcome") == false)
            try queue.close()
        }
        let store = try SQLiteJobStore(location: DatabaseLocation(path: path))
        let index = try store.read { db in try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'runs_finished'") }
        #expect(index?.contains("runs(finished_at, outcome) WHERE finished_at IS NOT NULL") == true, "\(index ?? "none")")
        // The chart's per-minute count reads the index alone, not the rows.
        let plan = try store.read { db in
            try Row.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT finished_at / 60000 AS m, sum(outcome = 'succeeded'), sum(outcome <> 'succeeded')
                FROM runs WHERE finished_at >= ? GROUP BY m
                """, arguments: [base]).map { $0["detail"] as String }.joined(separator: "; ")
        }
        #expect(plan.contains("COVERING INDEX runs_finished"), "\(plan)")
        // The old runs are counted through the new index.
        let throughput = try store.throughput(now: f.now, minutes: 30)
        #expect(throughput.succeededPerMinute.suffix(6) == [1, 1, 0, 0, 0, 0])
        #expect(throughput.failedPerMinute.suffix(6) == [1, 0, 0, 0, 0, 0])
    }
}
