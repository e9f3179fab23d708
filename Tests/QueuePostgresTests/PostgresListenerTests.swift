import Foundation
import PostgresNIO
import Testing
import TestSupport
@testable import QueuePostgres

@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresListenerTests {
    @Test func hearsANotifySentByAnotherSession() throws {
        let db = try TestPostgres()
        let address = try db.parsedAddress()
        let channel = "queuectl_test_\(db.schema)"
        let session = PostgresSession(address: address)
        let listener = try PostgresListener(session: session, channel: channel)
        defer { listener.close(); session.close() }
        #expect(listener.wait(timeout: 0.05) == false)
        let sender = PostgresSession(address: address)
        try sender.execute("SELECT pg_notify(\(channel), 'x')")
        #expect(listener.wait(timeout: 5) == true)
        // Heard once: the next wait has nothing to report.
        #expect(listener.wait(timeout: 0.05) == false)
    }

    @Test func notifyArrivesAtCommitNotBefore() throws {
        let db = try TestPostgres()
        let address = try db.parsedAddress()
        let channel = "queuectl_test_\(db.schema)"
        let session = PostgresSession(address: address)
        let listener = try PostgresListener(session: session, channel: channel)
        defer { listener.close(); session.close() }
        let sender = PostgresSession(address: address)
        try sender.transaction {
            try sender.execute("SELECT pg_notify(\(channel), '')")
            #expect(listener.wait(timeout: 0.2) == false)
        }
        #expect(listener.wait(timeout: 5) == true)
    }

    @Test func aNotificationWhileNobodyWaitsIsKept() throws {
        let db = try TestPostgres()
        let address = try db.parsedAddress()
        let channel = "queuectl_test_\(db.schema)"
        let session = PostgresSession(address: address)
        let listener = try PostgresListener(session: session, channel: channel)
        defer { listener.close(); session.close() }
        try PostgresSession(address: address).execute("SELECT pg_notify(\(channel), '')")
        Thread.sleep(forTimeInterval: 0.3)
        let start = Date()
        #expect(listener.wait(timeout: 5) == true)
        #expect(Date().timeIntervalSince(start) < 1)
    }

    @Test func listensAgainOnTheSessionsNextConnection() throws {
        let db = try TestPostgres()
        let address = try db.parsedAddress()
        let channel = "queuectl_test_\(db.schema)"
        let session = PostgresSession(address: address)
        let listener = try PostgresListener(session: session, channel: channel)
        defer { listener.close(); session.close() }
        let first = try #require(try session.query("SELECT pg_backend_pid()").first?.decode(Int32.self))
        let admin = PostgresSession(address: address)
        try admin.execute("SELECT pg_terminate_backend(\(first))")
        // The drop wakes the waiter (so it re-checks).
        #expect(listener.wait(timeout: 5) == true)
        // The session's next statement connects again, and the listener hears the return.
        var second: Int32?
        let deadline = Date(timeIntervalSinceNow: 10)
        while second == nil && Date() < deadline {
            second = try? session.query("SELECT pg_backend_pid()").first?.decode(Int32.self)
        }
        #expect(second != nil && second != first)
        #expect(listener.wait(timeout: 5) == true)
        _ = listener.wait(timeout: 0)
        try admin.execute("SELECT pg_notify(\(channel), '')")
        #expect(listener.wait(timeout: 5) == true)
    }

    @Test func unreachableServerIsOneLineError() throws {
        let port = try closedPort()
        let address = try PostgresAddress(parsing: "postgres://nobody@127.0.0.1:\(port)/somedb?sslmode=disable")
        let session = PostgresSession(address: address, environment: [:])
        let error = try #require(throws: (any Error).self) { try PostgresListener(session: session, channel: "c") }
        #expect("\(error)" == "cannot reach PostgreSQL at 127.0.0.1:\(port)/somedb: connection refused")
    }
}
