import Foundation
import Logging
import PostgresNIO
import QueueCore

/// One PostgreSQL connection used from blocking code: queuectl's worker loop,
/// heartbeat and CLI commands are synchronous threads, and postgres-nio is
/// asynchronous.
///
/// How it blocks: each statement is handed to postgres-nio's `EventLoopFuture`
/// interface and the calling thread waits on the future (`wait()`), so a statement
/// costs one round trip to the server plus two thread hand-offs (70 us for
/// `SELECT 1` on loopback at best here, where libpq's pgbench took 44 us; the
/// hand-offs cost more on a loaded machine, see the commit history). The
/// connection's I/O runs on the process's one event-loop thread
/// (``eventLoops``). Never call it from an event-loop
/// thread (NIO refuses a `wait()` there); async code should hand it to a thread.
///
/// One session is one connection, used by one thread at a time: a lock makes
/// other threads (a heartbeat) wait for the statement or transaction in progress.
/// The connection is opened on first use and opened again when the server dropped
/// it, so a worker whose database went away resumes once it is back; a statement
/// that fails because the connection broke is not retried (it may have run), it
/// throws `cannot reach PostgreSQL at …`.
///
/// Every connection sets `search_path` to the address's schema at startup, so
/// statements name tables without a schema and one database can hold several
/// queues.
public final class PostgresSession: @unchecked Sendable {
    public let address: PostgresAddress
    private let password: String?
    /// libpq's default root certificate file (`~/.postgresql/root.crt`), see ``PostgresTLS``.
    private let defaultRootFile: String?
    /// Whether a commit waits for the server's disk (see ``init(address:durable:environment:)``).
    public let durable: Bool
    private let lock = NSRecursiveLock()
    private var connection: PostgresConnection?
    private var transactionDepth = 0
    /// Statements sent without waiting for their answers (a transaction's `BEGIN`,
    /// ``sendAhead(_:)``) that no statement has waited for yet: the next statement
    /// is sent when they are answered, and fails if `BEGIN` failed.
    private var ahead: EventLoopFuture<Void>?
    /// The SQLSTATE of the last statement that failed on the server (nil after one
    /// that succeeded): tells a worker its queue's tables are gone (`42P01`).
    public private(set) var lastErrorState: String?
    private var nextConnectionID = 0
    /// The `lock_timeout` of ``withWaitLimit(milliseconds:_:)`` in force, in ms.
    private var waitLimit: Int?
    /// The `lock_timeout` the connection holds as a session setting (nil: the
    /// server's default), set for statements outside a transaction.
    private var connectionWaitLimit: Int?
    /// Channels LISTENed on this session's connection (see ``listen(channel:notify:)``).
    private var listeners: [(channel: String, notify: @Sendable () -> Void)] = []

    /// Most times ``transaction(_:)`` runs its body when the server reports a
    /// serialization failure or a deadlock (each a rollback of the whole transaction).
    public static let transactionAttempts = 5

    /// The event loop every connection of this process runs on: one thread. A
    /// process holds one connection (a command) or two (a worker: its work's and
    /// its heartbeat's), and a loop only moves their bytes; NIO's shared group
    /// would start a thread per core, and at a command's start each new thread is
    /// time taken before the first byte goes out.
    static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static let logger = Logger(label: "queuectl.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Finds the password (``PostgresPassword``) now; connects on first use.
    ///
    /// `durable: false` is for workers' connections, as SQLite's workers commit
    /// with `synchronous=NORMAL`: the connection sets `synchronous_commit=off`, so
    /// a claim or a result does not wait for the server's WAL flush (the server
    /// still writes it within a fraction of a second and never corrupts). If the
    /// server itself crashes in that moment, the last claims and results are lost
    /// and those jobs run again: at-least-once holds. Enqueues and every command
    /// stay durable.
    public init(address: PostgresAddress, durable: Bool = true,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.address = address
        self.durable = durable
        self.password = PostgresPassword.lookup(for: address, environment: environment)
        self.defaultRootFile = PostgresTLS.defaultRootPath(environment: environment)
    }

    deinit {
        connection?.closeSoon()
    }

    /// Connects now if not connected, so an unreachable server is reported before
    /// any work starts.
    public func connect() throws {
        try locked { _ = try openConnection() }
    }

    /// Closes the connection (the next statement opens a new one).
    public func close() {
        locked {
            if let connection { try? connection.close().wait() }
            connection = nil
            ahead = nil
        }
    }

    /// Runs one statement and returns its rows. Values are bound through
    /// `PostgresQuery`'s interpolation: `"… WHERE id = \(id)"` sends `id` as a
    /// parameter, `\(unescaped: text)` pastes SQL text.
    @discardableResult
    public func query(_ query: PostgresQuery) throws -> [PostgresRow] {
        try run(query).rows
    }

    /// Runs one statement that takes no row lock (a plain `SELECT`): under
    /// ``withWaitLimit(milliseconds:_:)`` it sends no setting first. (It can still
    /// wait for a table lock held by a schema change, as any read can.)
    public func read(_ query: PostgresQuery) throws -> [PostgresRow] {
        try run(query, takesLocks: false).rows
    }

    /// Runs `body` giving up on a row or table lock after `milliseconds`
    /// (`lock_timeout`), only where a lock can be waited for: a transaction sets it
    /// for itself (`set_config(…, true)`, sent ahead with its `BEGIN`), a statement
    /// outside one sets it on the connection first, and that is reset after the
    /// body. ``read(_:)`` sets nothing, so a command whose sweep only looks (the
    /// usual case) pays no round trip for the limit. Called inside a transaction,
    /// it limits none of it (no caller does that).
    public func withWaitLimit<T>(milliseconds: Int, _ body: () throws -> T) rethrows -> T {
        let outer: Int? = locked {
            defer { waitLimit = milliseconds }
            return waitLimit
        }
        defer {
            locked {
                waitLimit = outer
                if connectionWaitLimit != nil, outer == nil {
                    // A lost connection took the setting with it: nothing to reset.
                    if let connection, !connection.isClosed { sendLockTimeout(nil, local: false, on: connection) }
                    connectionWaitLimit = nil
                }
            }
        }
        return try body()
    }

    /// Sends the wait limit in force ahead of a statement outside a transaction
    /// that may wait for a lock, unless the connection has it already.
    private func applyWaitLimit(on connection: PostgresConnection) {
        guard transactionDepth == 0, let limit = waitLimit, connectionWaitLimit != limit else { return }
        sendLockTimeout(limit, local: false, on: connection)
        connectionWaitLimit = limit
    }

    /// Sends `lock_timeout` (nil: none) ahead of the next statement; `local`: for
    /// the current transaction only.
    private func sendLockTimeout(_ milliseconds: Int?, local: Bool, on connection: PostgresConnection) {
        let value = milliseconds.map { "\($0)ms" } ?? "0"
        ahead = following(ahead) { connection.query("SELECT set_config('lock_timeout', \(value), \(local))",
                                                    logger: Self.logger) }.map { _ in }
    }

    /// Runs one statement and returns the number of rows it changed (or returned).
    @discardableResult
    public func execute(_ query: PostgresQuery) throws -> Int {
        try run(query).metadata.rows ?? 0
    }

    /// Runs `body` in one transaction: `BEGIN`, then `COMMIT`, or `ROLLBACK` if it
    /// throws. When the server aborts it with a serialization failure or a deadlock
    /// (another host's transaction won), the whole transaction runs again, up to
    /// ``transactionAttempts`` times, so `body` must do nothing but database work
    /// it can repeat. A transaction inside a transaction is part of the outer one.
    /// `retryingConflicts: false` runs it once, for a body that cannot be repeated
    /// (one that reads a stream). `readOnlySnapshot: true` begins it `REPEATABLE
    /// READ, READ ONLY` (every statement sees the same snapshot; ignored when it is
    /// part of an outer transaction).
    @discardableResult
    public func transaction<T>(retryingConflicts: Bool = true, readOnlySnapshot: Bool = false,
                               _ body: () throws -> T) throws -> T {
        try locked {
            if transactionDepth > 0 {
                transactionDepth += 1
                defer { transactionDepth -= 1 }
                return try body()
            }
            var attempt = 1
            while true {
                do {
                    return try runTransaction(begin: readOnlySnapshot ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" : "BEGIN", body)
                } catch let error as PostgresQueryError where retryingConflicts && error.isRetryable && attempt < Self.transactionAttempts {
                    attempt += 1
                    // A short random pause, so the transactions that collided do not
                    // collide again.
                    usleep(UInt32.random(in: 1_000...(5_000 * UInt32(attempt))))
                }
            }
        }
    }

    /// `BEGIN` is sent without waiting for its answer: the transaction's first
    /// statement follows it on the connection's event loop as soon as the server
    /// has answered, and the calling thread waits once, for that statement. This
    /// saves a worker one wake-up per transaction (a worker's settle is one). If
    /// `BEGIN` fails, that first statement fails with its error.
    private func runTransaction<T>(begin: PostgresQuery, _ body: () throws -> T) throws -> T {
        let connection = try openConnection()
        ahead = following(ahead) { connection.query(begin, logger: Self.logger) }.map { _ in }
        if let limit = waitLimit, connectionWaitLimit != limit {
            sendLockTimeout(limit, local: true, on: connection)   // it ends with the transaction
        }
        transactionDepth = 1
        defer { transactionDepth = 0 }
        let result: T
        do {
            result = try body()
        } catch {
            // A broken connection has no transaction left to roll back.
            if self.connection != nil {
                let failed = lastErrorState
                _ = try? run("ROLLBACK")
                lastErrorState = failed
            }
            throw error
        }
        try run("COMMIT")
        return result
    }

    @discardableResult
    private func run(_ query: PostgresQuery, takesLocks: Bool = true) throws -> PostgresQueryResult {
        try locked {
            let connection = try openConnection()
            if takesLocks { applyWaitLimit(on: connection) }
            let before = ahead
            ahead = nil
            do {
                let result = try following(before) { connection.query(query, logger: Self.logger) }.wait()
                lastErrorState = nil
                return result
            } catch {
                throw failed(error, on: connection)
            }
        }
    }

    /// Runs one of the hot statements (``PreparedStatement``) and returns its rows.
    /// The server parses and plans it once per connection, then only binds and
    /// executes it: planning the worker's claim and result statements cost as much
    /// server time as running them. postgres-nio offers prepared statements only
    /// through `async`, so the calling thread waits for a task (one hand-off more
    /// than ``query(_:)``, far less than a plan). The task runs on the connection's
    /// event loop (``EventLoopTaskExecutor``), never on Swift's shared pool: a
    /// caller that is itself on that pool (an async test, the web server) blocks
    /// one of its few threads while it waits, and the task must not need one.
    public func prepared<Text: PreparedText>(_ statement: PreparedStatement<Text>) throws -> [PostgresRow] {
        try locked {
            let connection = try openConnection()
            applyWaitLimit(on: connection)
            let before = ahead
            ahead = nil
            let outcome = WaitedOutcome<[PostgresRow]>()
            Task(executorPreference: EventLoopTaskExecutor(connection.eventLoop)) {
                do {
                    if let before { try await before.get() }
                    var rows: [PostgresRow] = []
                    for try await row in try await connection.execute(statement, logger: Self.logger) { rows.append(row) }
                    outcome.finish(.success(rows))
                } catch {
                    outcome.finish(.failure(error))
                }
            }
            do {
                let rows = try outcome.wait()
                lastErrorState = nil
                return rows
            } catch {
                throw failed(error, on: connection)
            }
        }
    }

    /// Whether a ``transaction(retryingConflicts:readOnlySnapshot:_:)`` is in progress.
    public var inTransaction: Bool { locked { transactionDepth > 0 } }

    /// Runs one prepared statement as a transaction of its own (no `BEGIN`, no
    /// `COMMIT`: one round trip), again when the server reports a serialization
    /// failure or a deadlock, as ``transaction(retryingConflicts:readOnlySnapshot:_:)``
    /// does: a statement that failed so changed nothing. Not inside a transaction.
    public func single<Text: PreparedText>(_ statement: PreparedStatement<Text>) throws -> [PostgresRow] {
        try locked {
            precondition(transactionDepth == 0, "single(_:) inside a transaction")
            var attempt = 1
            while true {
                do {
                    return try prepared(statement)
                } catch let error as PostgresQueryError where error.isRetryable && attempt < Self.transactionAttempts {
                    attempt += 1
                    usleep(UInt32.random(in: 1_000...(5_000 * UInt32(attempt))))
                }
            }
        }
    }

    /// Sends `query` now and does not wait for its answer, nor report its failure:
    /// for a setting a command changes around its work (`lock_timeout`), which then
    /// costs no wait of its own. The next statement goes after it. Does nothing when
    /// the server cannot be reached (the next statement reports that).
    public func sendAhead(_ query: PostgresQuery) {
        locked {
            guard let connection = try? openConnection() else { return }
            ahead = following(ahead) { connection.query(query, logger: Self.logger) }
                .map { _ in }.recover { _ in }
        }
    }

    /// LISTENs on `channel` on this session's connection: `notify` runs (on an
    /// event-loop thread) for each notification, and whenever the connection is
    /// lost or opened again, since notifications sent meanwhile are gone and the
    /// listener must look for itself. The session opens a lost connection again
    /// at its next statement and LISTENs there too, so a session that runs
    /// statements regularly (a worker's heartbeat) keeps listening; one that does
    /// not must run a statement now and then to come back after a loss.
    /// Returns once the server has run the `LISTEN`.
    public func listen(channel: String, notify: @escaping @Sendable () -> Void) throws {
        try locked {
            // Connected first: a connection opened now loses nothing of this channel.
            let connection = try openConnection()
            listeners.append((channel, notify))
            connection.addListener(channel: channel) { _, _ in notify() }
            connection.closeFuture.whenComplete { _ in notify() }
            // postgres-nio sends the LISTEN before the statement that follows.
            try run("SELECT 1")
        }
    }

    /// `send` once `before` (statements sent ahead) has been answered, on the
    /// connection's event loop: the calling thread does not wait in between.
    private func following<T: Sendable>(_ before: EventLoopFuture<Void>?,
                                        _ send: @escaping @Sendable () -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        guard let before else { return send() }
        return before.flatMap { send() }
    }

    /// The error a failed statement throws; notes its SQLSTATE, and drops a broken
    /// connection (the next statement opens another).
    private func failed(_ error: any Error, on connection: PostgresConnection) -> any Error {
        let mapped = PostgresFailure.map(error, address: address, connecting: false)
        lastErrorState = (mapped as? PostgresQueryError)?.sqlState
        if !(mapped is PostgresQueryError) || connection.isClosed {
            self.connection = nil
            ahead = nil
            connection.closeSoon()
        }
        return mapped
    }

    /// The open connection, opening one if there is none or the server closed it.
    /// A transaction never moves to a new connection: its statements so far are gone.
    private func openConnection() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        connection = nil
        ahead = nil   // sent on the connection that is gone
        connectionWaitLimit = nil
        if transactionDepth > 0 { throw PostgresFailure.unreachable(address, "the connection was lost during a transaction") }
        nextConnectionID += 1
        do {
            let loop = Self.eventLoops.next()
            var configuration = try Self.configuration(address, password: password, defaultRootFile: defaultRootFile,
                                                       durable: durable)
            let started = NIODeadline.now()
            if let channel = try Self.plainChannel(to: address, on: loop) {
                var options = configuration.options
                // The handshake gets what the TCP connect left of the timeout, so
                // `connect_timeout` bounds the whole connection, as with libpq.
                options.connectTimeout = max(.milliseconds(1), options.connectTimeout - (NIODeadline.now() - started))
                configuration = .init(establishedChannel: channel, username: address.user, password: password,
                                      database: address.database)
                configuration.options = options
            }
            let opened = try PostgresConnection.connect(
                on: loop, configuration: configuration, id: nextConnectionID, logger: Self.logger
            ).wait()
            connection = opened
            if !listeners.isEmpty {
                let listening = listeners
                for (channel, notify) in listening {
                    opened.addListener(channel: channel) { _, _ in notify() }
                    notify()   // (again) listening: whatever was sent meanwhile is lost
                }
                opened.closeFuture.whenComplete { _ in for listener in listening { listener.notify() } }
            }
            return opened
        } catch {
            throw PostgresFailure.map(error, address: address, connecting: true)
        }
    }

    /// A TCP connection made here to a server named by its IP address, without
    /// TLS. postgres-nio resolves every host, even `127.0.0.1`, with `getaddrinfo`
    /// on a Dispatch thread it starts for that, which a command that sends one
    /// statement pays for in full. nil for names, Unix sockets and TLS: those are
    /// left to postgres-nio (resolution, and the name the certificate is checked
    /// against).
    static func plainChannel(to address: PostgresAddress, on loop: any EventLoop) throws -> (any Channel)? {
        guard address.socketPath == nil, address.tlsMode == .disable,
              let ip = try? SocketAddress(ipAddress: address.host, port: address.port) else { return nil }
        return try ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(Int64(address.connectTimeoutSeconds * 1000)))
            .connect(to: ip).wait()
    }

    /// The postgres-nio configuration for an address: TLS per `sslmode` and
    /// `sslrootcert` (``PostgresTLS``), the connect timeout, and `search_path`,
    /// `application_name` (and for a worker `synchronous_commit`) as startup
    /// parameters (no extra round trip).
    static func configuration(_ address: PostgresAddress, password: String?, defaultRootFile: String?,
                              durable: Bool = true) throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if let socket = address.socketPath {
            configuration = .init(unixSocketPath: socket, username: address.user, password: password, database: address.database)
        } else {
            configuration = .init(host: address.host, port: address.port, username: address.user, password: password,
                                  database: address.database,
                                  tls: try PostgresTLS.configuration(for: address, defaultRootFile: defaultRootFile))
        }
        configuration.options.connectTimeout = .milliseconds(Int64(address.connectTimeoutSeconds * 1000))
        configuration.options.additionalStartupParameters = [
            ("search_path", address.quotedSchema),
            ("application_name", "queuectl"),
        ]
        if !durable { configuration.options.additionalStartupParameters.append(("synchronous_commit", "off")) }
        return configuration
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

extension PostgresConnection {
    /// Closes without waiting for it, keeping the object alive until it is closed
    /// (postgres-nio requires a connection to be closed before it goes away).
    func closeSoon() {
        close().whenComplete { _ in withExtendedLifetime(self) {} }
    }
}
