import Foundation
import GRDB
import Testing
@testable import QueueCore
@testable import QueueSQLite

/// A `jobs_ready` entry left behind by a damaged index (its row no longer waiting)
/// must not be claimed: SQLite trusts a partial index and would hand the same job to
/// every claim while the jobs behind it wait. The damage is forged the way SQLite's
/// own tests do: hide the index's WHERE for one update through `writable_schema`.
@Suite struct StaleIndexTests {
    let f: SQLiteFixture
    init() throws { f = try SQLiteFixture() }

    @Test func aStaleReadyEntryIsSkippedNotClaimedForever() throws {
        try f.worker("w1")
        try f.enqueue("stale")
        try f.enqueue("next")
        try forgeStaleReadyEntry(jobID: "stale")
        // The forgery took: the index holds an entry its row no longer matches.
        let integrity = try f.store.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        #expect(integrity.contains { $0.contains("wrong # of entries in index jobs_ready") }, "\(integrity)")

        #expect(try f.claim("w1").job.id == "next")
        #expect(try f.store.claim(workerID: "w1", now: f.now) == .noJob)
        let stale = try f.store.job(id: "stale")
        #expect(stale.state == .completed && stale.attempts == 0)
        #expect(try f.store.nextRunAt() == nil, "an idle worker must not wake up for the stale entry")
    }

    /// Makes `jobs_ready`'s WHERE false while `jobID` is marked completed, so SQLite
    /// leaves its entry in place, then restores the index definition.
    private func forgeStaleReadyEntry(jobID: String) throws {
        let path = f.location.databasePath
        func schemaEdit(_ from: String, _ to: String) throws {
            let queue = try DatabaseQueue(path: path)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA writable_schema = ON")
                try db.execute(sql: "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE name = 'jobs_ready'", arguments: [from, to])
                try db.execute(sql: "PRAGMA writable_schema = OFF")
            }
        }
        let condition = "WHERE state = 'pending'"
        try schemaEdit(condition, "WHERE 0")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "UPDATE jobs SET state = 'completed' WHERE id = ?", arguments: [jobID]) }
        try schemaEdit("WHERE 0", condition)
    }
}
