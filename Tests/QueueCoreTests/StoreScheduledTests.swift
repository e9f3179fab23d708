import Foundation
import GRDB
import Testing
@testable import QueueCore
@testable import QueueSQLite

/// Work that is not due waits outside the claim's index: enqueued for later it is
/// `scheduled`, waiting for a retry it is `failed`, and a claim promotes it to
/// `pending` when its time comes. A claim or an idle worker's wake-up therefore
/// never reads future work, however much of it waits.
@Suite struct StoreScheduledTests {
    let f: StoreFixture
    init() throws { f = try StoreFixture() }

    /// Entries of the claim's index, read through it.
    private func readyEntries() throws -> [String] {
        try f.store.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM jobs INDEXED BY jobs_ready WHERE \(SQLiteJobStore.readyCondition) ORDER BY priority DESC, run_at, seq")
        }
    }

    @Test func futureWorkIsScheduledAndOutOfTheClaimIndex() throws {
        try f.worker("w1")
        for i in 0..<300 { try f.enqueue("later-\(i)", priority: 10, delay: Double(60 + i)) }
        try f.enqueue("retry", maxRetries: 3)
        _ = try f.store.finish(try f.claim("w1"), workerID: "w1", result: StoreFixture.failure, now: f.now)
        try f.enqueue("now", priority: -5)

        #expect(try f.store.job(id: "later-0").state == .scheduled)
        #expect(try f.store.job(id: "retry").state == .failed)
        #expect(try readyEntries() == ["now"], "only due work may be in the claim's index")
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
        _ = try f.store.finish(first, workerID: "w1", result: StoreFixture.success, now: f.now)
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
}
