import Foundation
import PostgresNIO
import QueueCore

/// A channel LISTENed on a session's connection, and a thread's wait for its
/// notifications: an idle worker's wake-up when jobs become claimable (PostgreSQL's
/// `NOTIFY` is delivered when the notifying transaction commits). A worker listens
/// on its heartbeat's session, so it holds two connections (its work and its
/// heartbeat), not three.
///
/// Waiting works like a doorbell: a notification that arrives while nobody waits
/// (say, while the worker was claiming) is remembered, and the next ``wait(timeout:)``
/// returns at once, so none is lost between a check and a wait. Notifications are
/// not counted: one return covers any number that came meanwhile.
///
/// When the server drops the connection (restart, network cut), waiting threads
/// are woken. The session opens a new connection at its next statement (a
/// heartbeat runs one every beat) and LISTENs there again; a wait returns then
/// too, because notifications sent while it was away are lost: callers re-check
/// the database whenever a wait returns `true`.
public final class PostgresListener: @unchecked Sendable {
    public let channel: String
    private let condition = NSCondition()
    /// Something happened since the last wait returned: a notification, a lost or
    /// a restored connection.
    private var pending = false
    private var closed = false

    /// LISTENs on `channel` on `session`'s connection (connecting now if it is not
    /// connected); throws `cannot reach PostgreSQL at …` when the server cannot be
    /// reached.
    public init(session: PostgresSession, channel: String) throws {
        self.channel = channel
        try session.listen(channel: channel) { [weak self] in self?.ring() }
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

    /// Stops waiting: waits return at once from now on. (The session keeps its
    /// `LISTEN` until it closes; its notifications then ring nobody.)
    public func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }

    private func ring() {
        condition.withLock {
            pending = true
            condition.broadcast()
        }
    }
}
