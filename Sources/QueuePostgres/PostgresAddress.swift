import Foundation
import QueueCore

/// Where a PostgreSQL queue lives: `--db` / `QUEUECTL_DB` when it is a URL.
///
/// ```
/// postgres://USER@HOST:PORT/DATABASE?sslmode=MODE&sslrootcert=FILE&schema=NAME
/// postgresql://USER@HOST/DATABASE                  (port 5432, sslmode prefer, schema public)
/// postgres://USER@/DATABASE?host=/var/run/postgresql   (a Unix socket folder)
/// ```
///
/// - USER: omitted, the login name of the process (as libpq). HOST: a name, an IPv4
///   address or `[IPv6]`; omitted, `localhost`. PORT: 5432 unless given.
///   DATABASE: omitted, the user's name (as libpq).
/// - `sslmode`, as libpq's: `disable`; `prefer` (the default: TLS when the server
///   offers it, its certificate unchecked); `require` (TLS or fail; the certificate
///   unchecked, unless a root certificate file exists, then as `verify-ca`);
///   `verify-ca` (TLS, the server's certificate signed by a root of the root
///   certificate file); `verify-full` (as `verify-ca`, and the certificate names
///   HOST).
/// - `sslrootcert`: the root certificate file (PEM, an absolute path) for the modes
///   that verify; default `~/.postgresql/root.crt`, as libpq. `system` trusts the
///   system's roots instead and, as libpq, goes with `verify-full` only (the
///   default mode then). See ``PostgresTLS``.
/// - `schema`: the PostgreSQL schema holding the queue's tables (default `public`);
///   several independent queues can share one database, one per schema. Every
///   connection sets `search_path` to it.
/// - `host=/folder`: connect through the Unix socket `/folder/.s.PGSQL.PORT`.
/// - `connect_timeout`: seconds to wait for the server to answer (default 10), for
///   the TCP connect and the handshake together.
///
/// A password in the address is refused: an address travels in argv (`--db`) and
/// in detached workers' environment, where other users can read it. The password
/// comes from `PGPASSWORD`, else from the password file (`PGPASSFILE`, else
/// `~/.pgpass`), exactly as libpq reads them (see ``PostgresPassword``).
public struct PostgresAddress: Sendable, Equatable {
    /// TLS, as libpq's `sslmode` names it.
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable
        case prefer
        case require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// `sslrootcert=system`: the system's trust roots, as libpq 16.
    public static let systemRoots = "system"

    public var user: String
    /// The host name or address for TCP; nil with ``socketFolder``.
    public var host: String
    /// The folder of a Unix socket (`host=/path`), or nil for TCP.
    public var socketFolder: String?
    public var port: Int
    public var database: String
    public var tlsMode: TLSMode
    /// `sslrootcert`: an absolute path, ``systemRoots``, or nil for libpq's default
    /// file (`~/.postgresql/root.crt`).
    public var rootCertificate: String?
    public var schema: String
    public var connectTimeoutSeconds: Double

    public static let defaultPort = 5432
    public static let defaultSchema = "public"
    public static let defaultConnectTimeoutSeconds: Double = 10

    public init(user: String, host: String = "localhost", socketFolder: String? = nil, port: Int = PostgresAddress.defaultPort,
                database: String, tlsMode: TLSMode = .prefer, rootCertificate: String? = nil,
                schema: String = PostgresAddress.defaultSchema,
                connectTimeoutSeconds: Double = PostgresAddress.defaultConnectTimeoutSeconds) {
        self.user = user
        self.host = host
        self.socketFolder = socketFolder
        self.port = port
        self.database = database
        self.tlsMode = tlsMode
        self.rootCertificate = rootCertificate
        self.schema = schema
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    /// Whether `text` is meant as a PostgreSQL address rather than a SQLite file path.
    public static func isPostgresAddress(_ text: String) -> Bool {
        let lower = text.prefix(14).lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// Parses an address; every refusal is one line of `invalidInput` that never
    /// repeats a password.
    public init(parsing text: String) throws {
        // The scheme is `postgres://` or `postgresql://`: its first ':' starts "://".
        guard Self.isPostgresAddress(text), let colon = text.firstIndex(of: ":") else {
            throw QueueError.invalidInput("not a PostgreSQL address (postgres://USER@HOST:PORT/DATABASE): \(SafeText.quoted(Self.redact(text)))")
        }
        var rest = text[text.index(colon, offsetBy: 3)...]
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        if rest.contains("#") { throw Self.invalid(text, "a '#' has no meaning in an address") }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var userPart: Substring?
        if let at = rest.lastIndex(of: "@") {
            userPart = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        if let userPart, userPart.contains(":") {
            throw QueueError.invalidInput("""
                a PostgreSQL address must not hold a password (other users can read it in process lists): \
                \(Self.redact(text)); put the password in PGPASSWORD or ~/.pgpass (mode 0600)
                """)
        }

        // Host and port; an IPv6 address is written in brackets.
        var hostPart = rest, portPart: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw Self.invalid(text, "an IPv6 host needs its closing ']'") }
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portPart = after.dropFirst() } else if !after.isEmpty { throw Self.invalid(text, "unexpected text after the host") }
        } else if let colon = rest.lastIndex(of: ":") {
            hostPart = rest[..<colon]
            portPart = rest[rest.index(after: colon)...]
        }

        let user = try userPart.map { try Self.decode($0, text, "user") } ?? ""
        let host = try Self.decode(hostPart, text, "host")
        let database = try Self.decode(path, text, "database")
        if database.contains("/") { throw Self.invalid(text, "the database name must not contain '/'") }

        var port = Self.defaultPort
        if let portPart {
            guard let value = Int(portPart), (1...65_535).contains(value) else {
                throw Self.invalid(text, "the port must be a number from 1 to 65535")
            }
            port = value
        }

        var tlsMode: TLSMode?, rootCertificate: String?, schema = Self.defaultSchema, socketFolder: String?
        var timeout = Self.defaultConnectTimeoutSeconds
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try Self.decode(parts[0], text, "parameter name")
            let value = parts.count > 1 ? try Self.decode(parts[1], text, key) : ""
            switch key {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw Self.invalid(text, "sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                tlsMode = mode
            case "sslrootcert":
                guard value == Self.systemRoots || value.hasPrefix("/") else {
                    throw Self.invalid(text, "sslrootcert takes the absolute path of a PEM file of root certificates, or 'system'")
                }
                rootCertificate = value
            case "schema":
                try Self.validateSchema(value, text)
                schema = value
            case "host":
                guard value.hasPrefix("/") else { throw Self.invalid(text, "host= takes the folder of a Unix socket (an absolute path)") }
                socketFolder = value
            case "connect_timeout":
                guard let seconds = Double(value), seconds > 0, seconds.isFinite else {
                    throw Self.invalid(text, "connect_timeout must be a number of seconds above 0")
                }
                timeout = seconds
            case "password":
                throw QueueError.invalidInput("""
                    a PostgreSQL address must not hold a password (other users can read it in process lists): \
                    \(Self.redact(text)); put the password in PGPASSWORD or ~/.pgpass (mode 0600)
                    """)
            default:
                throw Self.invalid(text, "unknown parameter \(SafeText.quoted(key)) (known: sslmode, sslrootcert, schema, host, connect_timeout)")
            }
        }
        // As libpq 16: the system's roots vouch for any name they signed, so only a
        // check of the name makes them mean something.
        if rootCertificate == Self.systemRoots {
            if let mode = tlsMode, mode != .verifyFull {
                throw Self.invalid(text, "sslrootcert=system needs sslmode=verify-full (a weaker mode would not check the server's name)")
            }
            tlsMode = .verifyFull
        }
        let mode = tlsMode ?? .prefer
        if socketFolder != nil, mode != .disable, mode != .prefer {
            throw Self.invalid(text, "sslmode=\(mode.rawValue) cannot be used over a Unix socket")
        }

        let resolvedUser = user.isEmpty ? Self.loginName() : user
        guard !resolvedUser.isEmpty else { throw Self.invalid(text, "no user named, and the login name is unknown") }
        self.init(user: resolvedUser, host: host.isEmpty ? "localhost" : host, socketFolder: socketFolder, port: port,
                  database: database.isEmpty ? resolvedUser : database, tlsMode: mode, rootCertificate: rootCertificate,
                  schema: schema,
                  connectTimeoutSeconds: timeout)
    }

    /// The Unix socket path for a ``socketFolder`` connection.
    public var socketPath: String? { socketFolder.map { "\($0)/.s.PGSQL.\(port)" } }

    /// `HOST:PORT/DATABASE` (the socket folder in place of the host), as errors name
    /// the server.
    public var location: String {
        let shownHost = socketFolder ?? (host.contains(":") ? "[\(host)]" : host)
        return "\(shownHost):\(port)/\(database)"
    }

    /// The address as a URL that holds no secret (it never holds one), with every
    /// setting spelled out: what logs, `--json` and errors show.
    public var redacted: String {
        var parameters = ["sslmode=\(tlsMode.rawValue)"]
        if let rootCertificate { parameters.append("sslrootcert=\(Self.encode(rootCertificate, keeping: "/"))") }
        if schema != Self.defaultSchema { parameters.append("schema=\(schema)") }
        if let socketFolder { parameters.append("host=\(Self.encode(socketFolder))") }
        if connectTimeoutSeconds != Self.defaultConnectTimeoutSeconds {
            let seconds = connectTimeoutSeconds
            parameters.append("connect_timeout=" + (seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)))
        }
        let shownHost = socketFolder != nil ? "" : (host.contains(":") ? "[\(host)]" : Self.encode(host))
        return "postgres://\(Self.encode(user))@\(shownHost):\(port)/\(Self.encode(database))?" + parameters.joined(separator: "&")
    }

    /// The schema name quoted as an SQL identifier (names are restricted to letters,
    /// digits and `_`, so quoting only keeps their case).
    public var quotedSchema: String { "\"\(schema)\"" }

    /// The longest schema name: the wake-up channel's name (`queuectl_wake_` and
    /// the schema) must fit PostgreSQL's 63-byte identifier limit.
    public static let maximumSchemaBytes = 48

    /// Schema names: letters, digits and `_`, not starting with a digit or `pg_`
    /// (reserved), at most ``maximumSchemaBytes``, so a name never needs escaping.
    static func validateSchema(_ name: String, _ text: String) throws {
        let allowed = name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
        guard !name.isEmpty, name.utf8.count <= PostgresAddress.maximumSchemaBytes, allowed, !(name.utf8.first! >= 48 && name.utf8.first! <= 57),
              !name.lowercased().hasPrefix("pg_") else {
            throw invalid(text, "schema must be 1 to \(PostgresAddress.maximumSchemaBytes) letters, digits or '_', not starting with a digit or 'pg_'")
        }
    }

    /// The address with anything between `://` and `@` that follows a `:` hidden,
    /// for errors about an address that did not parse.
    static func redact(_ text: String) -> String {
        var shown = text
        if let schemeEnd = shown.range(of: "://") {
            let authorityEnd = shown[schemeEnd.upperBound...].firstIndex(where: { $0 == "/" || $0 == "?" }) ?? shown.endIndex
            if let at = shown[schemeEnd.upperBound..<authorityEnd].lastIndex(of: "@"),
               let colon = shown[schemeEnd.upperBound..<at].firstIndex(of: ":") {
                shown.replaceSubrange(shown.index(after: colon)..<at, with: "***")
            }
        }
        if let range = shown.range(of: "password=") {
            let end = shown[range.upperBound...].firstIndex(of: "&") ?? shown.endIndex
            shown.replaceSubrange(range.upperBound..<end, with: "***")
        }
        return shown
    }

    private static func invalid(_ text: String, _ reason: String) -> QueueError {
        QueueError.invalidInput("invalid PostgreSQL address \(SafeText.quoted(redact(text))): \(reason)")
    }

    private static func decode(_ part: Substring, _ text: String, _ what: String) throws -> String {
        guard let decoded = percentDecoded(part) else {
            throw invalid(text, "bad %-escape in the \(what)")
        }
        return decoded
    }

    /// `part` with its `%XX` escapes decoded as UTF-8, as libpq reads a URI; nil
    /// for an escape that is not two hex digits or bytes that are not UTF-8.
    /// (Plain Swift: Foundation's `removingPercentEncoding` goes through NSString,
    /// whose first use costs every command that opens a server queue.)
    static func percentDecoded(_ part: Substring) -> String? {
        guard part.utf8.contains(UInt8(ascii: "%")) else { return String(part) }
        func hexDigit(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(part.utf8.count)
        var iterator = part.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(hexDigit), let low = iterator.next().flatMap(hexDigit) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func encode(_ part: String, keeping extra: String = "") -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~" + extra)
        return part.addingPercentEncoding(withAllowedCharacters: allowed) ?? part
    }

    /// The process's login name, libpq's default user.
    static func loginName() -> String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? ""
    }
}
