import Foundation
import GRDB
import Testing
@testable import QueueCore
@testable import QueueSQLite

/// Queues in the store: counts per queue kept by the triggers, the view that keeps
/// the totals where they were, and the migration that brings both.
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
}
