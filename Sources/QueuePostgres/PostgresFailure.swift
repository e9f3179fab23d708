import Foundation
import PostgresNIO
import QueueCore

/// An error the PostgreSQL server reported for a statement (a constraint, a
/// serialization failure, bad SQL), with its SQLSTATE so store code can act on the
/// few it expects (`23505` unique violation, `40001` serialization failure).
///
/// Its description is one line naming the server: the CLI prints it as `error: …`
/// and exits 1, like any runtime failure.
public struct PostgresQueryError: Error, CustomStringConvertible, Sendable {
    /// The five-character SQLSTATE (`23505`).
    public var sqlState: String
    public var message: String
    public var detail: String?
    /// The constraint violated, if any (`jobs_id_key`).
    public var constraint: String?
    /// `HOST:PORT/DATABASE`.
    public var location: String

    public static let uniqueViolation = "23505"
    public static let serializationFailure = "40001"
    public static let deadlockDetected = "40P01"

    public var description: String { "PostgreSQL at \(location): \(message)" }

    /// A table the statement names does not exist.
    static let undefinedTable = "42P01"

    /// Whether running the transaction again may succeed.
    var isRetryable: Bool { sqlState == Self.serializationFailure || sqlState == Self.deadlockDetected }
}

/// Turns postgres-nio's errors into queuectl's: a server-reported statement error
/// becomes a ``PostgresQueryError``; everything about reaching the server (refused,
/// unknown host, timeout, authentication, TLS, a dropped connection) becomes one
/// `QueueError.runtime` line, `cannot reach PostgreSQL at HOST:PORT/DATABASE: REASON`.
///
/// postgres-nio's own descriptions are deliberately vague (they would otherwise
/// leak query data), so the reason is built from the error's parts here.
enum PostgresFailure {
    static func map(_ error: any Error, address: PostgresAddress, connecting: Bool) -> any Error {
        if error is QueueError || error is PostgresQueryError { return error }
        if let psql = error as? PSQLError {
            if psql.code == .server, let info = psql.serverInfo {
                let sqlState = info[.sqlState] ?? ""
                let message = info[.message] ?? "an error without a message"
                // Errors at startup (authentication, unknown database) mean the
                // server cannot be used at all: say so the same way as a refusal.
                if connecting || sqlState.hasPrefix("08") || sqlState.hasPrefix("28") || sqlState == "3D000"
                    || sqlState.hasPrefix("57P") {
                    return unreachable(address, message)
                }
                return PostgresQueryError(sqlState: sqlState, message: message, detail: info[.detail],
                                          constraint: info[.constraintName], location: address.location)
            }
            return unreachable(address, reason(psql, address: address))
        }
        return unreachable(address, reason(of: error, address: address))
    }

    static func unreachable(_ address: PostgresAddress, _ reason: String) -> QueueError {
        QueueError.runtime("cannot reach PostgreSQL at \(address.location): \(reason)")
    }

    private static func reason(_ error: PSQLError, address: PostgresAddress) -> String {
        switch error.code {
        case .sslUnsupported: return "the server does not offer TLS (sslmode=\(address.tlsMode.rawValue))"
        case .failedToAddSSLHandler: return "TLS could not be set up"
        case .authMechanismRequiresPassword:
            return "the server asks for a password and none was found (set PGPASSWORD or add a line to ~/.pgpass, mode 0600)"
        case .unsupportedAuthMechanism: return "the server asks for an authentication method queuectl does not support"
        case .saslError: return "SCRAM authentication failed"
        case .serverClosedConnection, .uncleanShutdown: return "the server closed the connection"
        case .clientClosedConnection: return "the connection was closed"
        case .queryCancelled: return "the statement was cancelled"
        default:
            if let underlying = error.underlying { return reason(of: underlying, address: address) }
            return "connection failed (\(error.code))"
        }
    }

    private static func reason(of error: any Error, address: PostgresAddress) -> String {
        if let psql = error as? PSQLError { return reason(psql, address: address) }
        if let connection = error as? NIOConnectionError {
            if let first = connection.connectionErrors.first { return reason(of: first.error, address: address) }
            if connection.dnsAError != nil || connection.dnsAAAAError != nil { return "unknown host '\(connection.host)'" }
            return "no address found for '\(connection.host)'"
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        if let channel = error as? ChannelError {
            switch channel {
            case .connectTimeout: return "no answer within \(seconds(address.connectTimeoutSeconds)) s"
            case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed, .inputClosed: return "the connection was closed"
            default: return "\(channel)"
            }
        }
        if let reason = PostgresTLS.verificationFailure(error, address: address) { return reason }
        if let ssl = error as? NIOSSLError { return "TLS failed: \(ssl)" }
        if let ssl = error as? NIOSSLExtraError { return "TLS failed: \(ssl)" }
        return String(describing: error).split(separator: "\n").first.map(String.init) ?? "unknown error"
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
