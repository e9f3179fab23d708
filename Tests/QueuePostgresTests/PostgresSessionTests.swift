import Foundation
import PostgresNIO
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresSessionTests {
    @Test func runsStatementsInTheAddressSchema() throws {
        let db = try TestPostgres()
        let session = PostgresSession(address: try db.parsedAddress())
        try session.execute("CREATE SCHEMA \(unescaped: "\"\(db.schema)\"")")
        #expect(try session.query("SELECT current_schema()").first?.decode(String.self) == db.schema)
        try session.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT)")
        let name: String? = nil
        #expect(try session.execute("INSERT INTO t VALUES (\(1), \("one")), (\(2), \(name))") == 2)
        let rows = try session.query("SELECT id, name FROM t ORDER BY id").map { try $0.decode((Int64, String?).self) }
        #expect(rows.map(\.0) == [1, 2])
        #expect(rows.map(\.1) == ["one", nil])
    }

    @Test func transactionCommitsOrRollsBack() throws {
        let db = try TestPostgres()
        let session = PostgresSession(address: try db.parsedAddress())
        try session.execute("CREATE SCHEMA \(unescaped: "\"\(db.schema)\"")")
        try session.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)")
        try session.transaction { try session.execute("INSERT INTO t VALUES (1)") }
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try session.transaction {
                try session.execute("INSERT INTO t VALUES (2)")
                throw Stop()
            }
        }
        // A statement error rolls back what came before it in the transaction.
        let error = try #require(throws: PostgresQueryError.self) {
            try session.transaction {
                try session.execute("INSERT INTO t VALUES (3)")
                try session.execute("INSERT INTO t VALUES (1)")
            }
        }
        #expect(error.sqlState == PostgresQueryError.uniqueViolation)
        #expect(error.description.hasPrefix("PostgreSQL at 127.0.0.1:") || error.description.hasPrefix("PostgreSQL at "))
        #expect(try session.query("SELECT id FROM t ORDER BY id").map { try $0.decode(Int64.self) } == [1])
    }

    @Test func serializationFailureRunsTheTransactionAgain() throws {
        let db = try TestPostgres()
        let address = try db.parsedAddress()
        let session = PostgresSession(address: address)
        try session.execute("CREATE SCHEMA \(unescaped: "\"\(db.schema)\"")")
        try session.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT)")
        try session.execute("INSERT INTO t VALUES (1, 0)")
        let other = PostgresSession(address: address)
        var runs = 0
        try session.transaction {
            runs += 1
            try session.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            _ = try session.query("SELECT n FROM t WHERE id = 1")
            if runs == 1 { try other.execute("UPDATE t SET n = n + 1 WHERE id = 1") }
            try session.execute("UPDATE t SET n = n + 10 WHERE id = 1")
        }
        #expect(runs == 2)
        #expect(try session.query("SELECT n FROM t").first?.decode(Int64.self) == 11)
    }

    @Test func refusedConnectionIsOneLineNamingHostAndDatabase() throws {
        // A port nothing listens on: bind one, note its number, close it.
        let port = try closedPort()
        let address = try PostgresAddress(parsing: "postgres://nobody@127.0.0.1:\(port)/somedb?sslmode=disable")
        let session = PostgresSession(address: address, environment: [:])
        let error = try #require(throws: QueueError.self) { try session.query("SELECT 1") }
        #expect(error.kind == .runtime)
        #expect(error.message == "cannot reach PostgreSQL at 127.0.0.1:\(port)/somedb: connection refused")
    }

    @Test func wrongPasswordIsOneLineWithoutThePassword() throws {
        let db = try TestPostgres()
        let session = PostgresSession(address: try db.parsedAddress(), environment: ["PGPASSWORD": "not-the-password"])
        let error = try #require(throws: QueueError.self) { try session.connect() }
        #expect(error.kind == .runtime)
        #expect(error.message.hasPrefix("cannot reach PostgreSQL at "))
        #expect(error.message.contains("password authentication failed"))
        #expect(!error.message.contains("not-the-password"))
        #expect(!error.message.contains("\n"))
    }

    @Test func reconnectsAfterTheServerDropsTheConnection() throws {
        let db = try TestPostgres()
        let address = try db.parsedAddress()
        let session = PostgresSession(address: address)
        let pid = try #require(try session.query("SELECT pg_backend_pid()").first?.decode(Int32.self))
        let admin = PostgresSession(address: address)
        #expect(try admin.query("SELECT pg_terminate_backend(\(pid))").first?.decode(Bool.self) == true)
        // The statement on the dropped connection fails (it may or may not have
        // run), or the drop was seen first and a new connection serves it.
        var newPID = try? session.query("SELECT pg_backend_pid()").first?.decode(Int32.self)
        if newPID == nil { newPID = try session.query("SELECT pg_backend_pid()").first?.decode(Int32.self) }
        #expect(newPID != nil && newPID != pid)
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound, then closed).
func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &address) { pointer in
        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            guard bind(fd, raw, length) == 0, getsockname(fd, raw, &length) == 0 else { throw POSIXError(.EADDRINUSE) }
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
