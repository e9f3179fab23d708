import QueueCore
import Foundation
import GRDB
import GRDBSQLite

/// A value bound to a statement parameter through SQLite's C API.
enum SQLArgument {
    case int(Int64?)
    case double(Double?)
    case text(String?)

    static func int(_ value: Int?) -> SQLArgument { .int(value.map(Int64.init)) }
}

/// Runs a statement GRDB prepared and cached through SQLite's C API: binds the
/// arguments by position and steps it to the end, reading each result row in place.
///
/// A worker's transaction runs four small statements per job. GRDB's
/// `StatementArguments` box every value on the way in and `Row` copies every row on
/// the way out, which together cost about as much as SQLite's own work for them
/// (`perf`); this path skips both. The statement is always left reset, as GRDB
/// expects its cached statements.
struct BoundStatement {
    let statement: Statement
    let db: Database

    init(_ db: Database, sql: String) throws {
        self.db = db
        statement = try db.cachedStatement(sql: sql)
    }

    /// Binds `arguments` to parameters 1, 2, … and steps the statement until it is
    /// done, calling `row` for each result row. Throws SQLite's error.
    func run(_ arguments: [SQLArgument], row: ((ResultRow) throws -> Void)? = nil) throws {
        let handle = statement.sqliteStatement
        precondition(Int(sqlite3_bind_parameter_count(handle)) == arguments.count,
                     "\(arguments.count) arguments for \(sqlite3_bind_parameter_count(handle)) parameters: \(statement.sql)")
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        for (offset, argument) in arguments.enumerated() {
            let index = Int32(offset + 1)
            switch argument {
            case let .int(value?): sqlite3_bind_int64(handle, index, value)
            case let .double(value?): sqlite3_bind_double(handle, index, value)
            case var .text(value?):
                // Bound by length (a NUL inside is kept); an empty string as "", not NULL.
                value.withUTF8 { bytes in
                    _ = bytes.withMemoryRebound(to: CChar.self) { chars in
                        sqlite3_bind_text(handle, index, chars.baseAddress ?? Self.empty, Int32(bytes.count), Self.transient)
                    }
                }
            case .int(nil), .double(nil), .text(nil): sqlite3_bind_null(handle, index)
            }
        }
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else {
                let connection = db.sqliteConnection
                throw DatabaseError(resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)),
                                    message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
            }
            try row?(ResultRow(handle: handle))
        }
    }

    /// SQLite copies a value bound with this destructor before `bind` returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    /// A non-NULL pointer for empty strings (SQLite binds a NULL pointer as NULL).
    nonisolated(unsafe) private static let empty = UnsafePointer<CChar>(strdup("")!)
}

/// Typed reads of a result row by column index, so one decoder serves GRDB's
/// `Row` and the C API's `ResultRow` (see `Job.init(columns:)`).
protocol ColumnReader {
    func int64(_ column: Int32) -> Int64
    func int(_ column: Int32) -> Int
    func optionalInt(_ column: Int32) -> Int?
    func optionalDouble(_ column: Int32) -> Double?
    func text(_ column: Int32) -> String
    func optionalText(_ column: Int32) -> String?
}

extension Row: ColumnReader {
    func int64(_ column: Int32) -> Int64 { self[Int(column)] }
    func int(_ column: Int32) -> Int { self[Int(column)] }
    func optionalInt(_ column: Int32) -> Int? { self[Int(column)] }
    func optionalDouble(_ column: Int32) -> Double? { self[Int(column)] }
    func text(_ column: Int32) -> String { self[Int(column)] }
    func optionalText(_ column: Int32) -> String? { self[Int(column)] }
}

/// The current result row of a statement being stepped, read by column index.
struct ResultRow: ColumnReader {
    let handle: OpaquePointer?

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func int(_ column: Int32) -> Int { Int(int64(column)) }
    func optionalInt(_ column: Int32) -> Int? { isNull(column) ? nil : int(column) }
    func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : sqlite3_column_double(handle, column) }
    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: bytes)
    }
    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }
}
