import ArgumentParser
import Foundation
import QueueCore
import QueueRunner

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Database file (default: $QUEUECTL_DB, else ~/.local/share/queuectl/queue.db).", valueName: "path"))
    var db: String?

    var location: DatabaseLocation { DatabaseLocation.resolve(explicit: db) }

    /// Opens the store for a command that writes (enqueue, config, dlq retry…).
    func openStore() throws -> SQLiteJobStore {
        try Self.openStore(db: db)
    }

    /// Opens the store at `--db PATH` (nil: the default location) for writing.
    static func openStore(db: String?) throws -> SQLiteJobStore {
        let location = DatabaseLocation.resolve(explicit: db)
        return try SQLiteJobStore(location: location, createDirectories: creatingDirectoriesAllowed(db: db, location: location))
    }

    /// Opens the store for a command that reads, after releasing the jobs of dead
    /// workers so what it shows is current. A sweep that cannot write at once
    /// (database locked by a long transaction, read-only, disk full) is skipped:
    /// reading still works, and the next look or a worker does it.
    func openStoreForReading() throws -> SQLiteJobStore {
        let store = try openStore()
        store.withBusyTimeout(seconds: 0.5) { _ = try? Recovery.sweep(store: store) }
        return store
    }

    /// The default location's folders are created on first use; an explicit path's
    /// folder must exist (a typo in --db should not silently create a new queue).
    private static func creatingDirectoriesAllowed(db: String?, location: DatabaseLocation) throws -> Bool {
        let explicit = (db?.isEmpty == false) || (ProcessInfo.processInfo.environment["QUEUECTL_DB"]?.isEmpty == false)
        if explicit {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: location.directory, isDirectory: &isDir), isDir.boolValue else {
                throw QueueError.runtime("database folder \(location.directory) does not exist")
            }
            try location.prepareLogsDirectory()
            return false
        }
        return true
    }
}

extension DatabaseLocation {
    /// Creates `<db>-logs/` (0700) when the database folder already exists.
    func prepareLogsDirectory() throws {
        if mkdir(logsDirectory, 0o700) != 0 && errno != EEXIST {
            throw QueueError.runtime("cannot create \(logsDirectory): \(String(cString: strerror(errno)).lowercased())")
        }
    }
}
