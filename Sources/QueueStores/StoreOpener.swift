import Foundation
import QueueCore
import QueuePostgres
import QueueSQLite

/// Opens the store an address names, the one place that knows every backend.
/// Each use opens it the way that use needs (a worker's connection never creates
/// a database; a command's may, only where it is allowed to create the queue).
public enum StoreOpener {
    public enum Use: Sendable, Equatable {
        /// A command. `creating`: it may create the queue (enqueue, config set, …);
        /// otherwise a missing queue is "not found" (exit 3), never created.
        case command(creating: Bool)
        /// A worker's main connection: the queue must exist and be this user's.
        case worker
        /// A worker's heartbeat connection (its own, so heartbeats never queue
        /// behind the worker's transactions).
        case heartbeat
        /// A process that starts workers: the queue must be this user's.
        case supervisor
        /// `worker stop`, the bench, the console: an existing or new queue.
        case service
    }

    /// `explicit`: the address was given (`--db`, `QUEUECTL_DB`), not the default.
    public static func open(_ address: StoreAddress, _ use: Use, explicit: Bool = true) throws -> any JobStore {
        switch address {
        case let .file(location):
            return try openFile(location, use, explicit: explicit)
        case let .server(url):
            return try openServer(try PostgresAddress(parsing: url), use)
        }
    }

    /// Opens an existing queue for a command that reads, and for a server queue
    /// also what its recovery sweep looks at, read in the same round trip as the
    /// schema's version (`view`; nil for a file, or when the server's queue is not
    /// at this queuectl's schema version: the sweep then reads it itself).
    public static func openForReading(_ address: StoreAddress, explicit: Bool) throws
        -> (store: any JobStore, view: RecoveryView?) {
        let opened = try openReading(address, explicit: explicit) { session in
            try PostgresJobStore.openForReading(session).map { ($0.store, $0.view) }
        }
        return (opened.store, opened.prefetched)
    }

    /// ``openForReading(_:explicit:)`` for `status`: a server queue's job counts
    /// come in that round trip as well (`prefetched`, nil whenever the view is).
    public static func openForStatus(_ address: StoreAddress, explicit: Bool) throws
        -> (store: any JobStore, prefetched: (view: RecoveryView, counts: JobCounts)?) {
        let opened = try openReading(address, explicit: explicit) { session in
            try PostgresJobStore.openForStatus(session).map { ($0.store, ($0.view, $0.counts)) }
        }
        return (opened.store, opened.prefetched)
    }

    /// Opens an existing queue for `list`'s first page of `query`. A server queue
    /// sends the page with what tells whether the recovery sweep would release
    /// anything (`prefetched`; nil for a file, or as for ``openForReading(_:explicit:)``).
    public static func openForList(_ address: StoreAddress, explicit: Bool, firstPage query: JobListQuery, limit: Int) throws
        -> (store: any JobStore, prefetched: (page: JobPage, check: SweepCheck)?) {
        let opened = try openReading(address, explicit: explicit) { session in
            try PostgresJobStore.openForList(session, query, limit: limit).map { ($0.store, ($0.page, $0.check)) }
        }
        return (opened.store, opened.prefetched)
    }

    /// A file queue opens as usual; a server queue tries `serverOpen` (one
    /// statement) and else opens the usual way on the same connection.
    private static func openReading<Prefetched>(
        _ address: StoreAddress, explicit: Bool,
        _ serverOpen: (PostgresSession) throws -> (store: PostgresJobStore, prefetched: Prefetched)?
    ) throws -> (store: any JobStore, prefetched: Prefetched?) {
        guard case let .server(url) = address else {
            return (try open(address, .command(creating: false), explicit: explicit), nil)
        }
        let parsed = try PostgresAddress(parsing: url)
        let session = PostgresSession(address: parsed)
        if let opened = try serverOpen(session) { return (opened.store, opened.prefetched) }
        return (try openServer(parsed, .command(creating: false), session: session), nil)
    }

    /// A server queue is a schema in its database: commands that may not create a
    /// queue (and workers) find it there or stop with "not found" (exit 3), like a
    /// missing SQLite file; the others create it (migrations run once across hosts).
    /// `existing`: a session already connected to it (one authentication per command).
    static func openServer(_ address: PostgresAddress, _ use: Use, session existing: PostgresSession? = nil) throws -> any JobStore {
        let mayCreate: Bool
        switch use {
        case let .command(creating): mayCreate = creating
        case .worker, .heartbeat: mayCreate = false
        case .supervisor, .service: mayCreate = true
        }
        // Workers' claims and results do not wait for the server's disk, as SQLite's
        // workers commit with synchronous=NORMAL (see PostgresSession.init).
        let session = existing ?? PostgresSession(address: address, durable: !(use == .worker || use == .heartbeat))
        // A command that may not create the queue reads its version first; the
        // store then does not read it again.
        let version = mayCreate ? nil : try PostgresSchema.version(session)
        if version == 0 {
            throw QueueError.notFound("no queue at \(address.redacted) (schema \(address.schema) has none); `queuectl enqueue` creates it")
        }
        // The same connection: one authentication per command.
        let store = try PostgresJobStore(session: session, knownVersion: version)
        // This host's files of the queue (worker log, running-job files) go in a
        // private folder of their own; only processes that run jobs need it.
        if case .command = use {} else { try store.location.prepareDatabaseFolder() }
        return store
    }

    /// The default location's folder is created on first use; an explicit path's
    /// folder must exist (a typo in --db should not silently create a new queue).
    static func openFile(_ location: DatabaseLocation, _ use: Use, explicit: Bool) throws -> SQLiteJobStore {
        switch use {
        case let .command(creating):
            try location.checkDatabaseFile(mustExist: !creating)
            return try SQLiteJobStore(location: location, createDirectories: try creatingFolderAllowed(location, explicit: explicit))
        case .worker:
            // A worker never creates a database (a deleted one stays deleted; see
            // Heartbeat), and refuses one of another user: it would run that user's
            // commands as this one. Its main loop never checkpoints (it must not wait
            // on the disk); the heartbeat connection does.
            try location.checkDatabaseFile(mustExist: true)
            let store = try SQLiteJobStore(location: location, durable: false, autoCheckpoint: false)
            try location.checkOwnedDatabase()
            return store
        case .heartbeat:
            return try SQLiteJobStore(location: location, durable: false, createDirectories: false)
        case .supervisor:
            try location.checkOwnedDatabase()
            return try SQLiteJobStore(location: location)
        case .service:
            return try SQLiteJobStore(location: location)
        }
    }

    private static func creatingFolderAllowed(_ location: DatabaseLocation, explicit: Bool) throws -> Bool {
        guard explicit else { return true }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location.directory, isDirectory: &isDir), isDir.boolValue else {
            throw QueueError.runtime("database folder \(location.directory) does not exist")
        }
        return false
    }

    /// Job ids starting with `prefix`, for shell completion: never creates, never
    /// migrates, never waits long (see `SQLiteJobStore.jobIDs(at:…)`).
    public static func jobIDs(at address: StoreAddress, startingWith prefix: String, state: JobState?) throws -> [String] {
        switch address {
        case let .file(location):
            return try SQLiteJobStore.jobIDs(at: location, startingWith: prefix, state: state)
        case .server:
            return try open(address, .command(creating: false)).jobIDs(startingWith: prefix, state: state, limit: 100)
        }
    }

    /// The SQLite library this build links (`queuectl version --json`).
    public static var sqliteVersion: String { SQLiteJobStore.engineVersion }

    /// Deletes a whole queue: the files of a SQLite queue, the schema of a server
    /// queue. For scratch queues (the bench); never used on a user's queue.
    public static func removeQueue(_ address: StoreAddress) throws {
        switch address {
        case let .file(location):
            for suffix in ["", "-wal", "-shm", "-bell"] { unlink(location.databasePath + suffix) }
            try? FileManager.default.removeItem(atPath: location.logsDirectory)
        case let .server(url):
            let session = PostgresSession(address: try PostgresAddress(parsing: url))
            defer { session.close() }
            try PostgresSchema.drop(session)
        }
    }
}
