import Foundation

/// Which queue a command works on: a SQLite file (the embedded default) or a
/// PostgreSQL database that workers on many hosts share.
public enum StoreAddress: Sendable, Equatable {
    case file(DatabaseLocation)
    /// A `postgres://` address. It never holds a password (refused when parsed):
    /// passwords come from `PGPASSWORD` or `~/.pgpass`, so the address can go into
    /// a worker's command line and logs.
    case server(String)

    /// `--db`, else `$QUEUECTL_DB`, else the default SQLite file (see
    /// `DatabaseLocation.resolve`). An address starting `postgres://` or
    /// `postgresql://` names a PostgreSQL database.
    public static func resolve(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> StoreAddress {
        let given = explicit ?? environment["QUEUECTL_DB"]
        if let given, isServerAddress(given) { return .server(given) }
        return .file(try DatabaseLocation.resolve(explicit: explicit, environment: environment))
    }

    public static func isServerAddress(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// What a child process gets as `--db`.
    public var argument: String {
        switch self {
        case let .file(location): return location.databasePath
        case let .server(url): return url
        }
    }

    /// Whether the address was given by the user (`--db` or `QUEUECTL_DB`) rather
    /// than the default location.
    public static func isExplicit(_ db: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        db != nil || environment["QUEUECTL_DB"] != nil
    }
}
