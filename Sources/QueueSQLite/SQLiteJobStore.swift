import QueueCore
import Foundation
import GRDB

/// The SQLite store: one database file in WAL mode shared by every queuectl process
/// on the host. It owns the schema; no SQL lives outside its extensions.
///
/// Every write is one short `BEGIN IMMEDIATE` transaction, so concurrent writers queue
/// on SQLite's busy handler instead of failing, and a reader never blocks a writer.
public final class SQLiteJobStore: JobStore, @unchecked Sendable {
    public let location: DatabaseLocation
    /// The file this store opened (see DatabaseFileIdentity); nil if it could not
    /// be read just after opening.
    public let fileIdentity: DatabaseFileIdentity?
    let dbQueue: DatabaseQueue
    /// This connection's busy handler (see BusyWait).
    private let busyWait = BusyWait(timeout: SQLiteJobStore.busyTimeoutSeconds)
    /// How this store checkpoints the WAL (see WALCheckpointer).
    private let checkpointer: WALCheckpointer
    private let autoCheckpoint: Bool

    /// Page size of new database files.
    static let pageSize = 1024

    /// How long a write waits for another process's transaction before giving up.
    public static let busyTimeoutSeconds: Double = 10

    /// How long a checkpoint due after a write waits for the write lock before it is
    /// left to a later write.
    static let autoCheckpointWaitSeconds: Double = 0.05

    /// Opens (creating if needed) the database at `location` and migrates its schema.
    ///
    /// - Parameter durable: `true` syncs every commit (`synchronous=FULL`): an
    ///   acknowledged enqueue survives power loss. Workers pass `false`
    ///   (`synchronous=NORMAL`), which is safe against process crashes; after a power
    ///   cut the last results may be lost and those runs are re-run.
    ///   `autoCheckpoint: true` checkpoints after a write that leaves 4000 frames
    ///   or more in the WAL (waiting at most 50 ms for the lock); `false` never
    ///   does: a worker's main connection, whose loop must not wait on the disk,
    ///   leaves checkpoints to its heartbeat thread's connection.
    public init(location: DatabaseLocation, durable: Bool = true, autoCheckpoint: Bool = true,
                createDirectories: Bool = true) throws {
        self.location = location
        self.autoCheckpoint = autoCheckpoint
        let checkpointer = WALCheckpointer(path: location.databasePath)
        self.checkpointer = checkpointer
        if createDirectories { try location.prepareDatabaseFolder() }
        var info = stat()
        let existed = stat(location.databasePath, &info) == 0
        // A new or still empty file is opened under the set-up lock; see SetupLock.
        // (A file another process is creating stays empty until it switches to WAL
        // mode.) Only stat: opening and closing the database file here would drop
        // the POSIX locks this process's other connections hold on it.
        var setupLock: SetupLock? = existed && info.st_size > 0
            ? nil : SetupLock(directory: location.directory, timeout: Self.busyTimeoutSeconds)
        defer { setupLock?.release() }
        Self.restoreWriteAccessToWALFiles(databasePath: location.databasePath)
        var config = Configuration()
        let busyWait = self.busyWait
        config.busyMode = .callback { busyWait.shouldRetry(tries: $0) }
        config.label = "queuectl"
        let synchronous = durable ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            // WAL is switched on once, when the file is new. (GRDB's own WAL set-up
            // writes a dummy table whenever the -wal file is empty, which would wait
            // on any other process's write lock just to open the database.)
            if try String.fetchOne(db, sql: "PRAGMA journal_mode") != "wal" {
                // A new file gets 1 KiB pages: a job's claim and result rewrite about
                // eight B-tree pages, each a WAL frame, so smaller pages make every
                // commit cheaper (about a third, measured with `queuectl bench`).
                // SQLite ignores this for a file that already has tables.
                try db.execute(sql: "PRAGMA page_size = \(Self.pageSize)")
                guard try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") == "wal" else {
                    throw QueueError.runtime("cannot switch \(location.databasePath) to WAL mode")
                }
            }
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            try checkpointer.configure(db, track: autoCheckpoint)
        }
        let previousMask = umask(0o077)
        defer { umask(previousMask) }
        do {
            dbQueue = try DatabaseQueue(path: location.databasePath, configuration: config)
            // Migrating takes the write lock; check with a read first, so commands
            // that only read work while another process writes or the disk is full.
            // A check that fails (it can, while another process creates the
            // tables it reads) counts as "not done": the migrator, under the lock,
            // then finds out for sure.
            if !((try? dbQueue.read({ try Self.migrator.hasCompletedMigrations($0) })) ?? false) {
                if setupLock == nil {
                    setupLock = SetupLock(directory: location.directory, timeout: Self.busyTimeoutSeconds)
                }
                // Under the lock, a process that waited finds every migration
                // applied and the migrator does nothing.
                try Self.migrator.migrate(dbQueue)
            }
        } catch {
            throw Self.describe(error, path: location.databasePath)
        }
        fileIdentity = DatabaseFileIdentity(path: location.databasePath)
        if !existed { OwnedFile.changeMode(location.databasePath) { _ in 0o600 } }
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction, mapping SQLite errors to
    /// one-line messages.
    ///
    /// `BEGIN IMMEDIATE` and `COMMIT` run as cached statements: GRDB's
    /// `inTransaction` parses and prepares both anew each time, a measurable part
    /// of a worker's per-job transaction. On any error the transaction is rolled
    /// back (if SQLite has not already done so) before the error is passed on.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        let result = try writeOnly(body)
        // Best effort: the write is done; a checkpoint skipped now (lock busy) stays
        // due, and the next write tries again.
        if autoCheckpoint && checkpointer.isCheckpointDue { _ = try? checkpoint(wait: Self.autoCheckpointWaitSeconds) }
        return result
    }

    private func writeOnly<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try dbQueue.writeWithoutTransaction { db in
                try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
                do {
                    let result = try body(db)
                    try db.cachedStatement(sql: "COMMIT").execute()
                    return result
                } catch {
                    if db.isInsideTransaction { try? db.rollback() }
                    throw error
                }
            }
        } catch {
            throw Self.describe(error, path: location.databasePath)
        }
    }

    /// Runs `body` in a read transaction (a consistent snapshot).
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try dbQueue.read(body)
        } catch {
            throw Self.describe(error, path: location.databasePath)
        }
    }

    /// Copies committed WAL frames into the database file while holding the write
    /// lock, so no other connection can restart the WAL meanwhile (see
    /// WALCheckpointer). Other writers wait for it like for any write: a copy of the
    /// frames since the last checkpoint and two fsyncs.
    ///
    /// Returns false, having done nothing, when another connection kept the write
    /// lock for longer than `wait` seconds.
    @discardableResult
    public func checkpoint(wait: Double = SQLiteJobStore.busyTimeoutSeconds) throws -> Bool {
        do {
            return try dbQueue.writeWithoutTransaction { db in
                // The shorter wait applies to taking the lock only (set in here, where
                // no other write of this connection runs).
                let locked = try busyWait.withTimeout(wait) {
                    do {
                        try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
                        return true
                    } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                        return false
                    }
                }
                guard locked else { return false }
                defer { try? db.rollback() }
                try checkpointer.checkpointHoldingWriteLock()
                return true
            }
        } catch {
            throw Self.describe(error, path: location.databasePath)
        }
    }

    /// Runs `body` with a shorter busy timeout, for writes that are only worth
    /// doing if the database is free (a read command's recovery sweep).
    public func withBusyTimeout<T>(seconds: Double, _ body: () throws -> T) rethrows -> T {
        try busyWait.withTimeout(seconds, body)
    }

    /// A cheap change counter (`PRAGMA data_version`): different whenever another
    /// connection committed since the last call. Pollers use it to skip work.
    public func dataVersion() throws -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
    }

    /// SQLite creates the `-wal` and `-shm` files with the database file's mode at
    /// that moment, and a read-only connection leaves them behind. So a command that
    /// read the queue while the database file was read-only (`chmod a-w`) leaves
    /// read-only `-wal`/`-shm` files, and every later connection is read-only even
    /// after the database is writable again. When this process may write the database
    /// and owns such a file, give it the database's mode back before opening.
    static func restoreWriteAccessToWALFiles(databasePath: String) {
        var database = stat()
        guard stat(databasePath, &database) == 0, access(databasePath, W_OK) == 0 else { return }
        // A planted link in place of one of them is left alone (see OwnedFile).
        for suffix in ["-wal", "-shm"] {
            OwnedFile.changeMode(databasePath + suffix) { file in
                file.st_mode & S_IWUSR != 0 ? nil : (database.st_mode & 0o777) | S_IRUSR | S_IWUSR
            }
        }
    }

    /// Checks that this process may write the database (not read-only, not locked
    /// for longer than the busy timeout). SQLite starts a write transaction on a
    /// read-only file and fails only on the first page written, so this writes the
    /// header's `user_version` (unused) back unchanged and rolls back.
    public func checkWritable() throws {
        do {
            try dbQueue.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                    try db.execute(sql: "PRAGMA user_version = \(version)")
                    return .rollback
                }
            }
        } catch {
            throw Self.describe(error, path: location.databasePath)
        }
    }

    /// Free bytes on the filesystem holding `path`, if it can be asked.
    static func freeBytes(near path: String) -> UInt64? {
        var info = statvfs()
        let dir = (path as NSString).deletingLastPathComponent
        guard statvfs(dir.isEmpty ? "." : dir, &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    /// Turns GRDB/SQLite errors into one clear line; QueueErrors pass through.
    static func describe(_ error: Error, path: String) -> Error {
        if error is QueueError { return error }
        guard let dbError = error as? DatabaseError else {
            return QueueError.runtime("database \(path): \(error)")
        }
        let detail = dbError.message ?? "\(dbError.resultCode)"
        switch dbError.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return QueueError.runtime("database \(path) is locked by another process (waited \(Int(busyTimeoutSeconds)) s); try again")
        case .SQLITE_FULL:
            return QueueError.runtime("database \(path): disk is full; nothing was written")
        case .SQLITE_READONLY:
            return QueueError.runtime("database \(path) is read-only; nothing was written")
        case .SQLITE_CANTOPEN:
            let reason = String(cString: strerror(errno)).lowercased()   // before lstat changes errno
            if let link = DatabaseLocation(path: path).linkBesideDatabase() {
                return QueueError.runtime("cannot open database \(path): \(link) is a symbolic link, and SQLite does not follow one there; remove it")
            }
            return QueueError.runtime("cannot open database \(path): \(reason)")
        case .SQLITE_NOTADB:
            return QueueError.runtime("\(path) is not a queuectl database (not an SQLite file)")
        case .SQLITE_CORRUPT:
            return QueueError.runtime("database \(path) is corrupted: \(detail)")
        case .SQLITE_IOERR:
            // SQLite reports a full disk while creating its -wal/-shm files as I/O.
            if Self.freeBytes(near: path).map({ $0 < 256 * 1024 }) ?? false {
                return QueueError.runtime("database \(path): disk is full; nothing was written")
            }
            return QueueError.runtime("database \(path): I/O error (\(detail))")
        case .SQLITE_PERM, .SQLITE_AUTH:
            return QueueError.runtime("database \(path): permission denied")
        default:
            return QueueError.runtime("database \(path): \(detail)")
        }
    }
}
