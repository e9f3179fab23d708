import Foundation
import PostgresNIO
import QueueCore

/// The queue in a PostgreSQL database, shared by workers on many hosts.
///
/// The store's operations live in extensions by concern (`PostgresJobStore+Jobs`,
/// `+Config`, …), each mirroring its SQLite counterpart's semantics: the same
/// errors, the same orderings. This file holds only what they share: the address,
/// the one connection every operation runs on, and opening (which migrates the
/// schema, once across hosts; see ``PostgresSchema``).
///
/// Times are queuectl's (`Timestamp`, ms since the epoch); what measures a lease
/// (heartbeats, claims, recovery) must read the database's clock,
/// `queuectl_now_ms()`, never the caller's, so clock skew between hosts cannot
/// release a live worker or keep a dead one.
public final class PostgresJobStore: @unchecked Sendable {
    public let address: PostgresAddress
    /// The connection every operation of this store runs on (one per store: a
    /// worker holds two stores, its work's and its heartbeat's, and the heartbeat's
    /// connection also LISTENs for its wake-ups).
    public let session: PostgresSession

    /// Connects and brings the schema up to date. Throws `cannot reach PostgreSQL
    /// at HOST:PORT/DATABASE: …` when the server cannot be used. `durable: false`
    /// for a worker's connections (see ``PostgresSession/init(address:durable:environment:)``).
    public convenience init(address: PostgresAddress, durable: Bool = true,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        try self.init(session: PostgresSession(address: address, durable: durable, environment: environment))
    }

    /// The store on an open session (one connection, one authentication, for a
    /// caller that already asked the server something), brought up to date.
    /// `knownVersion`: the schema version the caller just read on this session, so
    /// it is not read again.
    public init(session: PostgresSession, knownVersion: Int? = nil) throws {
        self.address = session.address
        self.session = session
        try PostgresSchema.migrate(session, knownVersion: knownVersion)
    }

    /// Opens the store at a `postgres://` address (see ``PostgresAddress``).
    public convenience init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        try self.init(address: PostgresAddress(parsing: text), environment: environment)
    }

    /// The address as `status` and `--json` show it (it never holds a password).
    public var displayName: String { address.redacted }

    /// The channel idle workers of this queue listen on.
    public var wakeChannel: String { PostgresSchema.wakeChannel(schema: address.schema) }

    /// Wakes idle workers (delivered when the current transaction commits): for
    /// changes that make work claimable without a job changing state, such as a
    /// queue resumed or its limit raised. Jobs becoming `pending` notify by trigger.
    public func wake() throws {
        try session.execute("SELECT queuectl_wake()")
    }
}
