import Foundation
import QueueCore
import PostgresNIO
import Testing
import TestSupport
@testable import QueuePostgres

@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresJobStoreSignalsTests {
    /// The token's high half is this queue's change count; the low half follows the
    /// server's snapshot, which other schemas' tests running now also move.
    @Test func changeTokenCountsStatementsThatChangedRows() throws {
        let f = try PostgresQueueFixture()
        func count() throws -> Int64 { try f.store.changeToken() >> 32 }
        let before = try count()
        try f.store.setPaused(true, queues: ["q"])
        let after = try count()
        #expect(after > before)
        // A statement that changes no row counts nothing.
        try f.session.execute("UPDATE jobs SET attempts = 1 WHERE id = 'none'")
        #expect(try count() == after)
        try f.put("p1", .pending)
        #expect(try count() > after)
    }

    @Test func aTransactionCommittingAfterTheTokenWasReadChangesIt() throws {
        let f = try PostgresQueueFixture()
        let other = PostgresSession(address: try f.db.parsedAddress())
        try other.execute("BEGIN")
        try other.execute("INSERT INTO queues (name) VALUES ('pending-commit')")
        let during = try f.store.changeToken()
        try other.execute("COMMIT")
        #expect(try f.store.changeToken() != during)
    }

    @Test func anyChangeSignalFiresOnAChangeAndNotWithout() throws {
        let f = try PostgresQueueFixture()
        let signal = try f.store.changeSignal(.anyChange)
        #expect(!signal.wait(seconds: 0.4))
        try f.put("p1", .pending)
        #expect(signal.wait(seconds: 5))
    }

    @Test func outputWakesOnlyTheSignalThatAsksForIt() throws {
        let f = try PostgresQueueFixture()
        try f.put("j", .completed)
        let runID = try f.session.query("""
            INSERT INTO runs (job_id, attempt, worker_id, queued_at, started_at) VALUES ('j', 1, 'w', 0, 0) RETURNING id
            """).first!.decode(Int64.self)
        let changes = try f.store.changeSignal(.anyChange)
        let output = try f.store.changeSignal(.anyChangeOrOutput)
        usleep(300_000)
        changes.drain()
        output.drain()
        // Output chunks count only in the output sequence.
        try f.session.execute("INSERT INTO run_output (run_id, \"offset\", chunk) VALUES (\(runID), 0, '\\x41'::bytea)")
        #expect(output.wait(seconds: 5))
        #expect(!changes.wait(seconds: 0.4))
    }

    @Test func workSignalFiresWhenJobsBecomePendingOrWorkersAreRung() throws {
        let f = try PostgresQueueFixture()
        try f.put("d1", .dead)
        let signal = try f.store.changeSignal(.work)
        #expect(!signal.wait(seconds: 0.3))
        _ = try f.store.retryDead(ids: ["d1"], now: f.now)
        #expect(signal.wait(seconds: 5))
        f.store.ringWorkers()
        #expect(signal.wait(seconds: 5))
    }

    /// The work signal LISTENs on the store's own connection: it rings when that
    /// connection is lost, and once the session is back (at its next statement) it
    /// listens again and rings for the return and for new notifications.
    @Test func workSignalListensAgainAfterItsConnectionIsLost() throws {
        let f = try PostgresQueueFixture()
        let signal = try f.store.changeSignal(.work)
        #expect(!signal.wait(seconds: 0.3))
        let backend = try #require(try f.store.session.query("SELECT pg_backend_pid()").first?.decode(Int32.self))
        let other = PostgresSession(address: try f.db.parsedAddress())
        try other.execute("SELECT pg_terminate_backend(\(backend))")
        #expect(signal.wait(seconds: 5), "the loss rings")
        // The first statement finds the connection broken; the next opens another.
        _ = try? f.store.session.query("SELECT 1")
        let again = try #require(try f.store.session.query("SELECT pg_backend_pid()").first?.decode(Int32.self))
        #expect(again != backend)
        #expect(signal.wait(seconds: 5), "the return rings")
        #expect(!signal.wait(seconds: 0.3))
        f.store.ringWorkers()
        #expect(signal.wait(seconds: 5), "a notification on the new connection rings")
    }

    @Test func checkWritableRefusesAReadOnlyRole() throws {
        let f = try PostgresQueueFixture()
        try f.store.checkWritable()
        try f.session.execute("SET default_transaction_read_only = on")
        let error = try #require(throws: QueueError.self) { try f.store.checkWritable() }
        #expect(error.kind == .runtime)
        #expect(error.description.contains("read-only") && error.description.contains(f.db.schema))
        try f.session.execute("SET default_transaction_read_only = off")
    }

    @Test func withWaitLimitGivesUpOnALockedRow() throws {
        let f = try PostgresQueueFixture()
        let other = try lockedJob(f)
        defer { _ = try? other.execute("ROLLBACK") }
        let started = Date()
        #expect(throws: (any Error).self) {
            try f.store.withWaitLimit(seconds: 0.2) { try f.store.cancel(ids: ["p1"], now: f.now) }
        }
        #expect(Date().timeIntervalSince(started) < 5)
        try other.execute("ROLLBACK")
        // The limit ends with the body.
        #expect(try f.store.cancel(ids: ["p1"], now: f.now).cancelled == ["p1"])
    }

    /// A statement outside a transaction (a worker's settle is one) gets the limit
    /// too, on the connection, and loses it when the body ends.
    @Test func withWaitLimitCoversAStatementOutsideATransaction() throws {
        let f = try PostgresQueueFixture()
        let other = try lockedJob(f)
        defer { _ = try? other.execute("ROLLBACK") }
        // Without the limit the statement would wait: fail instead of hanging.
        try f.session.execute("SET statement_timeout = '10s'")
        let started = Date()
        let error = #expect(throws: PostgresQueryError.self) {
            try f.store.withWaitLimit(seconds: 0.2) { try f.session.execute("UPDATE jobs SET priority = 5 WHERE id = 'p1'") }
        }
        #expect(error?.sqlState == "55P03", "lock_not_available")
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(try setting(f.session) == "0")
    }

    /// Where the limit is set: a transaction sets it for itself alone, a statement
    /// outside one on the connection until the body ends, and a read (which
    /// cannot wait for a row lock) not at all.
    @Test func withWaitLimitSetsTheLimitOnlyWhereALockCanBeWaitedFor() throws {
        let f = try PostgresQueueFixture()
        try f.store.withWaitLimit(seconds: 0.25) { () throws in
            #expect(try setting(f.session, reading: true) == "0")
            #expect(try f.session.transaction { try setting(f.session) } == "250ms")
            #expect(try setting(f.session, reading: true) == "0", "ended with the transaction")
            #expect(try setting(f.session) == "250ms")
            #expect(try setting(f.session, reading: true) == "250ms", "kept on the connection until the body ends")
        }
        #expect(try setting(f.session, reading: true) == "0")
    }

    /// A pending job `p1`, its row locked by another session's open transaction
    /// (returned: roll it back to let go).
    private func lockedJob(_ f: PostgresQueueFixture) throws -> PostgresSession {
        try f.put("p1", .pending)
        let other = PostgresSession(address: try f.db.parsedAddress())
        try other.execute("BEGIN")
        try other.execute("SELECT 1 FROM jobs WHERE id = 'p1' FOR UPDATE")
        return other
    }

    /// The server's `lock_timeout` for this session, through a read (which sends no
    /// limit first) or a plain statement.
    private func setting(_ session: PostgresSession, reading: Bool = false) throws -> String {
        let query: PostgresQuery = "SELECT current_setting('lock_timeout')"
        return try (reading ? session.read(query) : session.query(query)).first?.decode(String.self) ?? ""
    }
}
