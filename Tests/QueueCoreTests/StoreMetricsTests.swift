import Foundation
import GRDB
import Testing
@testable import QueueCore
@testable import QueueSQLite

/// The store's monitoring figures: run totals kept by trigger (and counted once for
/// runs older than the migration), the histogram's buckets, and a latency read
/// that seeks instead of scanning.
@Suite struct StoreMetricsTests {
    let f: StoreFixture

    init() throws { f = try StoreFixture() }

    /// Runs a job that takes `seconds` on the fixture's clock and ends with `result`.
    private func run(_ id: String, seconds: Double, _ result: RunResult = StoreFixture.success) throws {
        try f.enqueue(id)
        let claimed = try f.claim("w1")
        f.advance(seconds: seconds)
        _ = try f.store.finish(claimed, workerID: "w1", result: result, now: f.now)
    }

    @Test func finishedRunsAreCountedByOutcomeAndDurationBucket() throws {
        try f.worker("w1")
        try run("quick", seconds: 0.004)
        try run("tenth", seconds: 0.1)
        try run("slow", seconds: 7, StoreFixture.failure)
        try run("endless", seconds: 7200)
        try f.enqueue("running")
        _ = try f.claim("w1")

        let metrics = try f.store.metrics(now: f.now)
        #expect(metrics.runs == [.succeeded: 3, .failed: 1, .timedOut: 0, .interrupted: 0, .cancelled: 0])
        let histogram = metrics.runDuration
        #expect(histogram.count == 4, "the running job's run is not finished")
        #expect(histogram.sumMilliseconds == 4 + 100 + 7_000 + 7_200_000)
        let cumulative = Dictionary(uniqueKeysWithValues: histogram.buckets.map { ($0.upperBoundMilliseconds, $0.cumulativeCount) })
        #expect(cumulative[5] == 1)
        #expect(cumulative[50] == 1)
        #expect(cumulative[100] == 2, "a bound includes durations equal to it")
        #expect(cumulative[5_000] == 2)
        #expect(cumulative[10_000] == 3)
        #expect(cumulative[3_600_000] == 3, "two hours is only in +Inf (count)")
        #expect(histogram.buckets.map(\.upperBoundMilliseconds) == SQLiteJobStore.runDurationBoundsMilliseconds)
    }

    @Test func totalsStayWhenRunsAreDeleted() throws {
        try f.worker("w1")
        try run("a", seconds: 1)
        try f.store.write { db in try db.execute(sql: "DELETE FROM runs") }
        #expect(try f.store.metrics(now: f.now).runs[.succeeded] == 1, "a counter never goes down")
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

    @Test func latencyIsTheOldestDueJobAcrossPriorities() throws {
        #expect(try f.store.metrics(now: f.now).queueLatencyMilliseconds == 0)
        try f.enqueue("low", priority: -3)
        f.advance(seconds: 2)
        try f.enqueue("high", priority: 9)
        try f.enqueue("future", priority: -9, delay: 60)
        #expect(try f.store.metrics(now: f.now).queueLatencyMilliseconds == 2_000)
        f.advance(seconds: 100)
        #expect(try f.store.metrics(now: f.now).queueLatencyMilliseconds == 102_000)
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

    @Test func aDueJobNoWorkerHasPromotedCountsAsWaiting() throws {
        try f.enqueue("later", delay: 10)
        #expect(try f.store.metrics(now: f.now).queueLatencyMilliseconds == 0)
        f.advance(seconds: 25)
        #expect(try f.store.metrics(now: f.now).queueLatencyMilliseconds == 15_000)
    }
}
