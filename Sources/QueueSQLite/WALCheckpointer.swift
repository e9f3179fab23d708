import QueueCore
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Checkpoints the WAL only while no other connection can write.
///
/// SQLite 3.7.0 through 3.51.2 (Debian 12 ships 3.40.1) have a race, the "WAL-reset
/// bug" (https://sqlite.org/wal.html#walresetbug): a checkpoint that starts on a
/// fully checkpointed WAL while another connection commits, and so restarts the WAL,
/// can record a wrong backfill count; a later checkpoint then skips frames of a
/// committed transaction, which is lost, and indexes disagree with their tables.
/// A queue is the workload that finds it: busy workers commit continuously while
/// every worker's heartbeat thread checkpoints. Soak runs of queuectl saw it twice
/// (a job's `jobs_ready` entry outliving its claim; two commits of one worker gone).
///
/// SQLite's automatic checkpoints and `wal_checkpoint(PASSIVE)` take no write lock,
/// and `FULL` falls back to `PASSIVE` when the write lock stays busy. So queuectl
/// turns automatic checkpoints off on every connection and checkpoints this way:
/// the store's own connection takes the write lock (`BEGIN IMMEDIATE`), and a
/// second connection of the same process, opened for this only, runs the
/// checkpoint. No writer can restart the WAL meanwhile. The checkpoint on closing
/// the last connection stays SQLite's: it runs under an exclusive lock on the
/// database file, with no other connection open.
final class WALCheckpointer: Sendable {
    /// Frames in the WAL after which a store that checkpoints on its own
    /// (`autoCheckpoint`) checkpoints after a write: 4 MiB of 1 KiB pages, the WAL
    /// size of SQLite's default (1000 pages of 4 KiB). Pages a queue rewrites again
    /// and again (counts, index pages) are copied once per checkpoint, so a longer
    /// interval copies less per job: queue overhead 42.7-56.2 µs/job at 1000
    /// frames, 36.1-45.1 at 4000.
    static let autoCheckpointFrames: Int32 = 4000

    private let path: String
    private let connection = Mutex<DatabaseQueue?>(nil)
    /// Frames in the WAL after this store's last commit (set by SQLite's WAL hook).
    private let frames = Atomic<Int32>(0)

    init(path: String) {
        self.path = path
    }

    /// Turns SQLite's automatic (write-lock-free) checkpoints off on `db`, and with
    /// `track`, records the WAL's size after each of its commits.
    func configure(_ db: Database, track: Bool) throws {
        try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        guard track else { return }
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(db.sqliteConnection, { context, _, _, frames in
            Unmanaged<WALCheckpointer>.fromOpaque(context!).takeUnretainedValue().frames.store(frames, ordering: .relaxed)
            return SQLITE_OK
        }, context)
    }

    /// Whether this store's last commit left `autoCheckpointFrames` or more in the
    /// WAL and no checkpoint of this store has run since.
    var isCheckpointDue: Bool { frames.load(ordering: .relaxed) >= Self.autoCheckpointFrames }

    /// Runs a checkpoint on the second connection. The caller holds the write lock
    /// on its own connection.
    func checkpointHoldingWriteLock() throws {
        let queue = try connection.withLock { queue -> DatabaseQueue in
            if let queue { return queue }
            var config = Configuration()
            config.label = "queuectl-checkpoint"
            // Never waits: the write lock is ours, and a checkpoint another process
            // is running makes this one unnecessary.
            config.busyMode = .immediateError
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
            let opened = try DatabaseQueue(path: path, configuration: config)
            queue = opened
            return opened
        }
        try queue.writeWithoutTransaction { db in _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") }
        frames.store(0, ordering: .relaxed)
    }
}
