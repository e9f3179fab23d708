import Foundation
import QueuePostgres

/// A PostgreSQL schema of its own for one test, in the database that
/// `QUEUECTL_TEST_DB` names (`scripts/postgres-test-server.sh` starts a server and
/// prints an address for it). Tests share the database, never a schema: each
/// instance adds `schema=t_<random>` to the address, and drops that schema, with
/// all it holds, when it goes away.
///
/// With `QUEUECTL_TEST_DB` unset, PostgreSQL tests are skipped and say why
/// (``unsetReason``); CI sets it, so there they run or fail.
public final class TestPostgres: @unchecked Sendable {
    public static let variable = "QUEUECTL_TEST_DB"

    /// The server's address from the environment, nil when unset.
    public static let serverAddress: String? = {
        let value = ProcessInfo.processInfo.environment[variable] ?? ""
        return value.isEmpty ? nil : value
    }()

    public static var isConfigured: Bool { serverAddress != nil }

    public static let unsetReason = """
        QUEUECTL_TEST_DB is not set, so this PostgreSQL test is skipped; run \
        `export QUEUECTL_TEST_DB=$(scripts/postgres-test-server.sh)` to include it
        """

    /// The address with this test's schema.
    public let address: String
    public let schema: String

    public init() throws {
        guard let server = Self.serverAddress else { throw QueueTestSkip.noServer }
        if let problem = TestDatabase.serverProblem { throw TestFailure(problem) }
        schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        address = server + (server.contains("?") ? "&" : "?") + "schema=\(schema)"
    }

    /// The parsed address of this test's schema.
    public func parsedAddress() throws -> PostgresAddress { try PostgresAddress(parsing: address) }

    deinit {
        guard let server = Self.serverAddress, let admin = try? PostgresAddress(parsing: server) else { return }
        var address = admin
        address.schema = schema
        let session = PostgresSession(address: address)
        try? PostgresSchema.drop(session)
        session.close()
    }
}

/// Thrown when a PostgreSQL test runs without `QUEUECTL_TEST_DB`.
public enum QueueTestSkip: Error, CustomStringConvertible {
    case noServer
    public var description: String { "\(TestPostgres.variable) is not set" }
}
