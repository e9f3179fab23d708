import Foundation

/// The store the suite runs against. Unset, every test gets a SQLite file of its
/// own. With `QUEUECTL_TEST_DB=postgres://user@host:5432/db?sslmode=disable` (the
/// password in `~/.pgpass` or `PGPASSWORD`), every test gets a schema of its own in
/// that database (`schema=t_…` added to the address; the store creates it with the
/// queue) and drops it at the end.
///
/// A server that cannot be reached fails every test that needs it, with the reason:
/// nothing is skipped when the variable is set.
public enum TestDatabase {
    public static let variable = "QUEUECTL_TEST_DB"

    /// The server address the suite was asked to use, nil for SQLite.
    public static let server: String? = {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else { return nil }
        return value
    }()

    /// Whether tests run on SQLite files (QUEUECTL_TEST_DB unset).
    public static var isFile: Bool { server == nil }

    /// The address of a new, unused schema on the server (not created yet). Throws,
    /// naming the server and the reason, when the server cannot be reached.
    public static func newSchemaAddress() throws -> String {
        guard let server else { throw TestFailure("\(variable) is not set") }
        if let problem = serverProblem { throw TestFailure(problem) }
        let name = "t_" + UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(16)
        return server + (server.contains("?") ? "&" : "?") + "schema=" + name
    }

    /// The address of a new queue for one test: `queue.db` in `folder` on SQLite,
    /// else a new schema on the server. `removeQueue` takes it away again.
    public static func newQueueAddress(folder: String) throws -> String {
        isFile ? folder + "/queue.db" : try newSchemaAddress()
    }

    /// Removes a queue `newQueueAddress` made: its schema on a server (a file goes
    /// with the folder it is in).
    public static func removeQueue(_ address: String) {
        if !address.hasPrefix("/") { try? dropSchema(of: address) }
    }

    /// Drops the schema `address` names, with everything in it.
    public static func dropSchema(of address: String) throws {
        guard let schema = schema(of: address) else { return }
        try psql(address, "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE")
    }

    /// The `schema=` of an address.
    static func schema(of address: String) -> String? {
        URLComponents(string: address)?.queryItems?.first { $0.name == "schema" }?.value
    }

    /// A lease runs from the later of a worker's last heartbeat and the server's
    /// start (time the server was down does not count against workers), so tests
    /// that expire a lease need a server up for longer than their lease. CI starts
    /// the server just before the suite: the first test waits for the rest of this.
    static let serverUptimeForLeases = 20

    /// Why the server cannot be used, checked once per test process (nil: it
    /// answers, and has been up for ``serverUptimeForLeases`` seconds).
    static let serverProblem: String? = {
        guard let server else { return nil }
        if let password = URLComponents(string: server)?.password, !password.isEmpty {
            return "\(variable) holds a password: put it in ~/.pgpass or PGPASSWORD instead"
        }
        do {
            try psql(server, """
                SELECT pg_sleep(greatest(0, \(serverUptimeForLeases) - extract(epoch FROM now() - pg_postmaster_start_time())))
                """)
            return nil
        } catch {
            return "\(variable)=\(server): the PostgreSQL server cannot be used: \(error)"
        }
    }()

    /// Runs one statement with `psql` on the database of `address` (without the
    /// `schema=` libpq does not know).
    private static func psql(_ address: String, _ statement: String) throws {
        guard var components = URLComponents(string: address) else { throw TestFailure("not an address: \(address)") }
        let items = (components.queryItems ?? []).filter { $0.name != "schema" }
        components.queryItems = items.isEmpty ? nil : items
        guard let connection = components.string else { throw TestFailure("not an address: \(address)") }
        let result = try QueueSandbox.exec(psqlPath, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", connection, "-c", statement],
                                           timeout: 30)
        guard result.status == 0 else {
            throw TestFailure(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    private static let psqlPath: String = {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/psql"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "/usr/bin/psql"
    }()
}
