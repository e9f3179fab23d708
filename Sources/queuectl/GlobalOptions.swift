import ArgumentParser
import Foundation
import QueueCore
import QueueStores
import QueueRunner

/// Options every command takes.
struct GlobalOptions: ParsableArguments, DatabaseOption {
    @Option(name: .long, help: ArgumentHelp("Database file or postgres:// address (default: $QUEUECTL_DB, else ~/.local/share/queuectl/queue.db).", valueName: "path"))
    var db: String?
}

/// `--db` and how commands open the queue it names. ``GlobalOptions`` is the
/// parsed form; ``QuickCommand`` passes the plain value (``PlainDatabaseOption``),
/// so that `status` and `list` open their store the same way without
/// ArgumentParser's property wrappers.
protocol DatabaseOption {
    var db: String? { get }
}

/// `--db` as a plain value.
struct PlainDatabaseOption: DatabaseOption {
    var db: String?
}

extension DatabaseOption {
    /// The queue this command works on (an empty `--db` or `QUEUECTL_DB` is an error).
    func address() throws -> StoreAddress { try StoreAddress.resolve(explicit: db) }

    /// Opens the store for a command that may create the queue (enqueue, config set,
    /// worker start, monitor, queue set/pause, schedule add).
    func openStore() throws -> any JobStore {
        try openStore(creating: true)
    }

    /// Opens the store of an existing queue, for a command that reads or changes
    /// what is there: a missing database is "not found" (exit 3), never created.
    func openExistingStore() throws -> any JobStore {
        try openStore(creating: false)
    }

    /// Opens the store at `--db ADDRESS` (nil: the default location). A path that is
    /// not a database file is refused; a missing one is created only when `creating`.
    private func openStore(creating: Bool) throws -> any JobStore {
        try StoreOpener.open(try address(), .command(creating: creating), explicit: StoreAddress.isExplicit(db))
    }

    /// Opens the store for a command that reads, after releasing the jobs of dead
    /// workers so what it shows is current. A sweep that cannot write at once
    /// (database locked by a long transaction, read-only, disk full) is skipped:
    /// reading still works, and the next look or a worker does it.
    func openStoreForReading() throws -> any JobStore {
        let (store, view) = try StoreOpener.openForReading(try address(), explicit: StoreAddress.isExplicit(db))
        _ = sweep(store, view)
        return store
    }

    /// `status`'s reading: the store, the job counts and the workers, after the
    /// sweep. A server queue sends them with the sweep's view in the opening
    /// statement; they are used when the sweep changed nothing, and read again
    /// when it released something (or could not run).
    func openStoreForStatus() throws -> (store: any JobStore, counts: JobCounts, workers: [WorkerRecord]) {
        let (store, prefetched) = try StoreOpener.openForStatus(try address(), explicit: StoreAddress.isExplicit(db))
        if sweep(store, prefetched?.view), let prefetched {
            return (store, prefetched.counts, prefetched.view.workers)
        }
        let (counts, workers) = try store.countsAndWorkers()
        return (store, counts, workers)
    }

    /// `list`'s reading of a first page: the store, after the sweep, and the page
    /// when a server queue sent it in the opening statement and the sweep had
    /// nothing to release (nil: read it from the store, after a sweep that may
    /// have changed it).
    func openStoreForFirstPage(_ query: JobListQuery, limit: Int) throws -> (store: any JobStore, page: JobPage?) {
        let (store, prefetched) = try StoreOpener.openForList(try address(), explicit: StoreAddress.isExplicit(db),
                                                              firstPage: query, limit: limit)
        if let prefetched, Recovery.wouldChangeNothing(prefetched.check) { return (store, prefetched.page) }
        _ = sweep(store, nil)
        return (store, nil)
    }

    /// Releases the jobs of dead workers (judged from `view` when there is one);
    /// true when it ran and changed nothing.
    private func sweep(_ store: any JobStore, _ view: RecoveryView?) -> Bool {
        let report = store.withWaitLimit(seconds: 0.5) { try? Recovery.sweepNotingInWorkerLog(store: store, view: view) }
        return report?.changedNothing ?? false
    }
}
