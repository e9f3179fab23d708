import Foundation
import Testing
@testable import QueueCore
@testable import QueueSQLite

/// WAL checkpoints run only under the write lock (see WALCheckpointer): SQLite's own
/// automatic ones are off, a store checkpoints after a write once the WAL is large,
/// and `checkpoint()` waits for, or skips past, another connection's write.
@Suite struct CheckpointTests {
    /// Jobs in a copy of the database file alone (without its WAL): what has been
    /// checkpointed. The copy is made by another process, so this one never opens
    /// and closes the database file (which would drop its connections' locks).
    private func checkpointedJobs(_ fixture: SQLiteFixture) throws -> Int {
        let copy = fixture.directory + "/copy-\(UUID().uuidString.prefix(6)).db"
        let cp = Process()
        cp.executableURL = URL(fileURLWithPath: "/bin/cp")
        cp.arguments = [fixture.location.databasePath, copy]
        try cp.run()
        cp.waitUntilExit()
        let store = try SQLiteJobStore(location: DatabaseLocation(path: copy))
        return try store.counts().total
    }

    private func specs(_ count: Int, prefix: String) throws -> [JobSpec] {
        try (0..<count).map { try JobSpec(id: "\(prefix)-\($0)", command: "true") }
    }

    @Test func noConnectionCheckpointsOnItsOwn() throws {
        let fixture = try SQLiteFixture()
        let worker = try SQLiteJobStore(location: fixture.location, durable: false, autoCheckpoint: false)
        for store in [fixture.store, worker] {
            #expect(try store.read { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } == 0)
        }
    }

    @Test func checkpointCopiesWhatWasCommittedAndNothingElseDoes() throws {
        let fixture = try SQLiteFixture()
        let store = try SQLiteJobStore(location: fixture.location, durable: false, autoCheckpoint: false)
        _ = try store.enqueue(specs(50, prefix: "a"), now: fixture.now)
        #expect(try store.checkpoint())
        #expect(try checkpointedJobs(fixture) == 50)
        _ = try store.enqueue(specs(10, prefix: "b"), now: fixture.now)
        #expect(try checkpointedJobs(fixture) == 50)
        #expect(try store.checkpoint())
        #expect(try checkpointedJobs(fixture) == 60)
    }

    @Test func aStoreCheckpointsAfterAWriteThatLeavesTheWALLarge() throws {
        let fixture = try SQLiteFixture()
        // 50,000 jobs are about 6,300 WAL frames of 1 KiB, past the 4,000 after
        // which a store checkpoints.
        #expect(WALCheckpointer.autoCheckpointFrames == 4000)
        _ = try fixture.store.enqueue(specs(50_000, prefix: "big"), now: fixture.now)
        #expect(try checkpointedJobs(fixture) == 50_000)
        // A worker's main connection leaves checkpoints to its heartbeat thread.
        let worker = try SQLiteJobStore(location: fixture.location, durable: false, autoCheckpoint: false)
        _ = try worker.enqueue(specs(50_000, prefix: "more"), now: fixture.now)
        #expect(try checkpointedJobs(fixture) == 50_000)
    }

    @Test func aCheckpointNeverRunsBesideAnotherWrite() throws {
        let fixture = try SQLiteFixture()
        _ = try fixture.enqueue("first")
        let holder = try SQLiteJobStore(location: fixture.location)
        let release = DispatchSemaphore(value: 0)
        let done = holdWriteLock(holder, until: release)
        // A short wait gives up, having done nothing.
        let started = Date()
        #expect(try fixture.store.checkpoint(wait: 0.1) == false)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(try checkpointedJobs(fixture) == 0)
        // The usual wait lasts until the other write is over.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { release.signal() }
        let waited = Date()
        #expect(try fixture.store.checkpoint())
        #expect(Date().timeIntervalSince(waited) >= 0.4)
        done.wait()
        #expect(try checkpointedJobs(fixture) == 1)
    }
}
