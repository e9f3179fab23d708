import ArgumentParser
import Foundation
import QueueCore
import QueueSQLite
import QueueRunner

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Database file (default: $QUEUECTL_DB, else ~/.local/share/queuectl/queue.db).", valueName: "path"))
    var db: String?

    /// The database this command works on (an empty `--db` or `QUEUECTL_DB` is an error).
    func location() throws -> DatabaseLocation { try DatabaseLocation.resolve(explicit: db) }

    /// Opens the store for a command that may create the queue (enqueue, config set,
    /// worker start, monitor, queue set/pause, schedule add).
    func openStore() throws -> SQLiteJobStore {
        try Self.openStore(db: db, creating: true)
    }

    /// Opens the store of an existing queue, for a command that reads or changes
    /// what is there: a missing database is "not found" (exit 3), never created.
    func openExistingStore() throws -> SQLiteJobStore {
        try Self.openStore(db: db, creating: false)
    }

    /// Opens the store at `--db PATH` (nil: the default location). A path that is
    /// not a database file is refused; a missing one is created only when `creating`.
    static func openStore(db: String?, creating: Bool) throws -> SQLiteJobStore {
        let location = try DatabaseLocation.resolve(explicit: db)
        try location.checkDatabaseFile(mustExist: !creating)
        return try SQLiteJobStore(location: location, createDirectories: try creatingFolderAllowed(db: db, location: location))
    }

    /// Opens the store for a command that reads, after releasing the jobs of dead
    /// workers so what it shows is current. A sweep that cannot write at once
    /// (database locked by a long transaction, read-only, disk full) is skipped:
    /// reading still works, and the next look or a worker does it.
    func openStoreForReading() throws -> SQLiteJobStore {
        let store = try openExistingStore()
        store.withBusyTimeout(seconds: 0.5) { _ = try? Recovery.sweepNotingInWorkerLog(store: store) }
        return store
    }

    /// The default location's folder is created on first use; an explicit path's
    /// folder must exist (a typo in --db should not silently create a new queue).
    private static func creatingFolderAllowed(db: String?, location: DatabaseLocation) throws -> Bool {
        let explicit = db != nil || ProcessInfo.processInfo.environment["QUEUECTL_DB"] != nil
        if explicit {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: location.directory, isDirectory: &isDir), isDir.boolValue else {
                throw QueueError.runtime("database folder \(location.directory) does not exist")
            }
            return false
        }
        return true
    }
}
