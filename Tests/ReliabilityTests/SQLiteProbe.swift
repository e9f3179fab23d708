import Foundation
import GRDB

/// Looks into a queue's database from the test process through the SQLite library
/// (GRDB), the way the `sqlite3` shell would, so the tests need no shell installed.
enum SQLiteProbe {
    /// Runs `sql` (one or more statements) and returns the rows as the shell prints
    /// them: one line per row, columns joined by `|`, NULL as an empty string.
    static func query(_ path: String, _ sql: String, busyTimeout: Double = 5) throws -> String {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.inDatabase { db in
            var lines: [String] = []
            let statements = try db.allStatements(sql: sql)
            while let statement = try statements.next() {
                for row in try Row.fetchAll(statement) {
                    lines.append(row.databaseValues.map(text).joined(separator: "|"))
                }
            }
            return lines.joined(separator: "\n")
        }
    }

    private static func text(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: return ""
        case let .int64(i): return String(i)
        case let .double(d): return String(d)
        case let .string(s): return s
        case let .blob(b): return String(decoding: b, as: UTF8.self)
        }
    }

    /// Whether the write lock can be taken within `timeout` seconds (taken and
    /// given back at once).
    static func canTakeWriteLock(_ path: String, timeout: Double) -> Bool {
        (try? query(path, "BEGIN IMMEDIATE; ROLLBACK;", busyTimeout: timeout)) != nil
    }
}

/// A connection holding the database's write lock (an open `BEGIN IMMEDIATE` with
/// a write in it), as another process would: SQLite's file locks block every
/// other process's writers until ``release()``.
final class LockHolder: @unchecked Sendable {
    private let queue: DatabaseQueue

    init(database: String) throws {
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true   // held open on purpose until release()
        configuration.busyMode = .timeout(10)            // a worker may be mid-write
        queue = try DatabaseQueue(path: database, configuration: configuration)
        try queue.inDatabase { db in
            try db.execute(sql: "BEGIN IMMEDIATE; INSERT INTO config(key, value) VALUES ('kill-grace', 1);")
        }
    }

    func release() {
        try? queue.inDatabase { db in try db.execute(sql: "ROLLBACK") }
        try? queue.close()
    }
}
