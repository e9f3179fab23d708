import Foundation
import PostgresNIO
import QueueCore

/// A connection of its own that LISTENs on one channel, or a channel LISTENed on
/// a session's connection (``init(session:channel:)``), and lets a thread wait for
/// a notification: an idle worker's wake-up when jobs become claimable (PostgreSQL's
/// `NOTIFY` is delivered when the notifying transaction commits).
///
/// Waiting works like a doorbell: a notification that arrives while nobody waits
/// (say, while the worker was claiming) is remembered, and the next ``wait(timeout:)``
/// returns at once, so none is lost between a check and a wait. Notifications are
/// not counted: one return covers any number that came meanwhile.
///
/// When the server drops the connection (restart, network cut), waiting threads
/// are woken, and a new connection is tried in the background (after 0.1 s,
/// doubling to 5 s between tries); once it listens again, a wait returns too,
/// because notifications sent while it was away are lost: callers re-check the
/// database whenever a wait returns `true`. Waits never block on connecting.
public final class PostgresListener: @unchecked Sendable {
    public let address: PostgresAddress
    public let channel: String
    private let password: String?
    private let defaultRootFile: String?
    private let condition = NSCondition()
    private var connection: PostgresConnection?
    /// Something happened since the last wait returned: a notification, a lost or
    /// a restored connection.
    private var pending = false
    private var closed = false
    private var reconnectDelaySeconds = PostgresListener.firstReconnectDelaySeconds
    private var backend: Int32?

    static let firstReconnectDelaySeconds = 0.1
    static let lastReconnectDelaySeconds = 5.0

    /// Listens on `session`'s connection instead of a connection of its own: a
    /// worker listens on its heartbeat's session, so it holds two connections (its
    /// work and its heartbeat), not three. The session LISTENs again whenever it
    /// opens a new connection, at its next statement after a loss (a heartbeat runs
    /// one every beat); a wait returns at the loss and at the return, as here.
    public init(session: PostgresSession, channel: String) throws {
        self.address = session.address
        self.channel = channel
        self.password = nil
        self.defaultRootFile = nil
        try session.listen(channel: channel) { [weak self] in self?.ring() }
    }

    /// Connects and starts listening; throws `cannot reach PostgreSQL at …` when the
    /// server cannot be reached now.
    public init(address: PostgresAddress, channel: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.address = address
        self.channel = channel
        self.password = PostgresPassword.lookup(for: address, environment: environment)
        self.defaultRootFile = PostgresTLS.defaultRootPath(environment: environment)
        let (connection, pid) = try Self.connectAndListen(address: address, password: password, defaultRootFile: defaultRootFile,
                                                          channel: channel, owner: self).wait()
        condition.withLock {
            self.connection = connection
            self.backend = pid
        }
        connection.closeFuture.whenComplete { [weak self] _ in self?.lost(connection) }
    }

    deinit {
        connection?.closeSoon()
    }

    /// Waits until a notification arrives (or one arrived since the last wait
    /// returned), the connection is lost or restored, or `timeout` seconds pass.
    /// Returns false only when the time ran out with nothing happening.
    @discardableResult
    public func wait(timeout seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: max(0, seconds))
        condition.lock()
        defer { condition.unlock() }
        while !pending && !closed {
            if !condition.wait(until: deadline) { break }
        }
        let happened = pending
        pending = false
        return happened
    }

    /// Whether the listening connection is up now.
    public var isConnected: Bool { condition.withLock { connection != nil } }

    /// The server process of the listening connection (for diagnostics and tests).
    public var backendPID: Int32? { condition.withLock { backend } }

    /// Stops listening and closes the connection; waits return at once from now on.
    public func close() {
        let connection = condition.withLock {
            closed = true
            condition.broadcast()
            defer { self.connection = nil }
            return self.connection
        }
        try? connection?.close().wait()
    }

    /// Opens a connection, registers the channel's listener and returns once the
    /// `LISTEN` has run: postgres-nio sends it before the query that follows on the
    /// same connection, whose answer gives the server process id.
    private static func connectAndListen(address: PostgresAddress, password: String?, defaultRootFile: String?, channel: String,
                                         owner: PostgresListener?) -> EventLoopFuture<(PostgresConnection, Int32?)> {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let configuration: PostgresConnection.Configuration
        do {
            configuration = try PostgresSession.configuration(address, password: password, defaultRootFile: defaultRootFile)
        } catch {
            return loop.makeFailedFuture(PostgresFailure.map(error, address: address, connecting: true))
        }
        return PostgresConnection.connect(on: loop, configuration: configuration, id: 0, logger: PostgresSession.logger)
            .flatMapError { loop.makeFailedFuture(PostgresFailure.map($0, address: address, connecting: true)) }
            .flatMap { connection in
                connection.addListener(channel: channel) { [weak owner] _, _ in owner?.ring() }
                return connection.query("SELECT pg_backend_pid()", logger: PostgresSession.logger)
                    .map { result in (connection, try? result.first?.decode(Int32.self)) }
                    .flatMapError { error in
                        connection.closeSoon()
                        return loop.makeFailedFuture(PostgresFailure.map(error, address: address, connecting: true))
                    }
            }
    }

    private func ring() {
        condition.withLock {
            pending = true
            condition.broadcast()
        }
    }

    private func lost(_ dropped: PostgresConnection) {
        let reconnect: Bool = condition.withLock {
            guard connection === dropped, !closed else { return false }
            connection = nil
            backend = nil
            pending = true
            condition.broadcast()
            return true
        }
        if reconnect { scheduleReconnect() }
    }

    private func scheduleReconnect() {
        let delay = condition.withLock { () -> Double in
            defer { reconnectDelaySeconds = min(reconnectDelaySeconds * 2, Self.lastReconnectDelaySeconds) }
            return reconnectDelaySeconds
        }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        loop.scheduleTask(in: .milliseconds(Int64(delay * 1000))) { [weak self] in
            guard let self, !self.condition.withLock({ self.closed }) else { return }
            Self.connectAndListen(address: self.address, password: self.password, defaultRootFile: self.defaultRootFile,
                                  channel: self.channel, owner: self)
                .whenComplete { [weak self] result in self?.reconnected(result) }
        }
    }

    private func reconnected(_ result: Result<(PostgresConnection, Int32?), any Error>) {
        switch result {
        case let .success((connection, pid)):
            let keep = condition.withLock {
                guard !closed else { return false }
                self.connection = connection
                backend = pid
                reconnectDelaySeconds = Self.firstReconnectDelaySeconds
                pending = true
                condition.broadcast()
                return true
            }
            if keep {
                connection.closeFuture.whenComplete { [weak self] _ in self?.lost(connection) }
            } else {
                connection.closeSoon()
            }
        case .failure:
            scheduleReconnect()
        }
    }
}
