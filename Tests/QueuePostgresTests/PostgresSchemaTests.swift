import Foundation
import PostgresNIO
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresSchemaTests {
    @Test func manyHostsStartingAtOnceMigrateExactlyOnce() throws {
        let db = try TestPostgres()
        let address = try db.parsedAddress()
        let sessions = (0..<8).map { _ in PostgresSession(address: address) }
        for session in sessions { try session.connect() }
        let results = ResultBox()
        let start = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for session in sessions {
            group.enter()
            Thread.detachNewThread {
                start.wait()
                results.add(Result { try PostgresSchema.migrate(session) })
                group.leave()
            }
        }
        for _ in sessions { start.signal() }
        group.wait()
        let applied = try results.all.map { try $0.get() }
        #expect(applied.count == 8)
        #expect(applied.filter { !$0.isEmpty }.count == 1)
        #expect(applied.first { !$0.isEmpty } == Array(1...PostgresSchema.latestVersion))
        let rows = try sessions[0].query("SELECT version FROM queuectl_migrations ORDER BY version").map { try $0.decode(Int.self) }
        #expect(rows == Array(1...PostgresSchema.latestVersion))
        #expect(try PostgresSchema.version(sessions[0]) == PostgresSchema.latestVersion)
        #expect(try PostgresSchema.migrate(sessions[1]).isEmpty)
    }

    @Test func versionOfAnEmptySchemaIsZero() throws {
        let db = try TestPostgres()
        #expect(try PostgresSchema.version(PostgresSession(address: try db.parsedAddress())) == 0)
    }

    @Test func aSchemaFromANewerQueuectlIsRefused() throws {
        let db = try TestPostgres()
        let session = PostgresSession(address: try db.parsedAddress())
        try PostgresSchema.migrate(session)
        try session.execute("INSERT INTO queuectl_migrations VALUES (\(PostgresSchema.latestVersion + 1), 'future', 0)")
        let error = try #require(throws: QueueError.self) { try PostgresSchema.migrate(session) }
        #expect(error.message.contains("newer than this queuectl knows"))
    }

    @Test func databaseClockIsInMilliseconds() throws {
        let db = try TestPostgres()
        let session = PostgresSession(address: try db.parsedAddress())
        try PostgresSchema.migrate(session)
        let server = try #require(try session.query("SELECT queuectl_now_ms()").first?.decode(Int64.self))
        // Same machine: the clocks agree to well within a second.
        #expect(abs(server - Timestamp.now().milliseconds) < 1_000)
        let later = try #require(try session.transaction {
            Thread.sleep(forTimeInterval: 0.02)
            return try session.query("SELECT queuectl_now_ms() - (extract(epoch FROM now()) * 1000)::BIGINT").first?.decode(Int64.self)
        })
        // The time of the call, not of the transaction's start.
        #expect(later >= 15)
    }

    @Test func countsFollowEveryChangeAcrossConnections() throws {
        let db = try TestPostgres()
        let address = try db.parsedAddress()
        let first = PostgresSession(address: address), second = PostgresSession(address: address)
        try PostgresSchema.migrate(first)
        try insertJobs(first, count: 500, queue: "default", state: "pending")
        try insertJobs(first, count: 20, queue: "mail", state: "scheduled")
        try second.execute("UPDATE jobs SET state = 'processing' WHERE seq IN (SELECT seq FROM jobs WHERE state = 'pending' ORDER BY seq LIMIT 30)")
        try first.execute("UPDATE jobs SET state = 'completed' WHERE seq IN (SELECT seq FROM jobs WHERE state = 'processing' ORDER BY seq LIMIT 10)")
        try second.execute("UPDATE jobs SET state = 'pending' WHERE queue = 'mail'")
        try first.execute("UPDATE jobs SET priority = 3 WHERE queue = 'mail'")   // no state change
        try second.execute("DELETE FROM jobs WHERE state = 'completed'")
        let counted = try counts(first, "SELECT queue, state, sum(n)::BIGINT FROM job_counts GROUP BY queue, state HAVING sum(n) <> 0")
        let actual = try counts(first, "SELECT queue, state, count(*) FROM jobs GROUP BY queue, state")
        #expect(counted == actual)
        #expect(actual["default/pending"] == 470)
        #expect(actual["default/processing"] == 20)
        #expect(actual["mail/pending"] == 20)
        // Each connection wrote the count rows of its own shard.
        let used = Set(try first.query("SELECT DISTINCT shard FROM job_counts").map { try $0.decode(Int16.self) })
        let own = Set(try [first, second].map { try $0.query("SELECT queuectl_shard()").first!.decode(Int16.self) })
        #expect(used == own)
    }

    @Test func makingJobsClaimableNotifiesTheWakeChannel() throws {
        let db = try TestPostgres()
        let address = try db.parsedAddress()
        let session = PostgresSession(address: address)
        try PostgresSchema.migrate(session)
        let listening = PostgresSession(address: address)
        let listener = try PostgresListener(session: listening, channel: PostgresSchema.wakeChannel(schema: address.schema))
        defer { listener.close(); listening.close() }
        try insertJobs(session, count: 100, queue: "default", state: "scheduled")
        #expect(listener.wait(timeout: 0.3) == false, "jobs that are not due wake nobody")
        try insertJobs(session, count: 100, queue: "default", state: "pending")
        #expect(listener.wait(timeout: 5) == true)
        try session.execute("UPDATE jobs SET state = 'processing' WHERE state = 'pending'")
        #expect(listener.wait(timeout: 0.3) == false, "a claim wakes nobody")
        try session.execute("UPDATE jobs SET state = 'pending' WHERE state = 'scheduled'")
        #expect(listener.wait(timeout: 5) == true, "jobs coming due wake workers")
    }

    @Test func uniqueKeyIsFreeOnceItsHolderIsFinal() throws {
        let db = try TestPostgres()
        let session = PostgresSession(address: try db.parsedAddress())
        try PostgresSchema.migrate(session)
        try session.execute(insertSQL(id: "a", state: "pending", uniqueKey: "k"))
        let error = try #require(throws: PostgresQueryError.self) { try session.execute(insertSQL(id: "b", state: "pending", uniqueKey: "k")) }
        #expect(error.sqlState == PostgresQueryError.uniqueViolation)
        try session.execute("UPDATE jobs SET state = 'completed' WHERE id = 'a'")
        try session.execute(insertSQL(id: "c", state: "pending", uniqueKey: "k"))
    }

    @Test func finishedRunsAreTotalledByOutcomeAndDuration() throws {
        let db = try TestPostgres()
        let session = PostgresSession(address: try db.parsedAddress())
        try PostgresSchema.migrate(session)
        try session.execute("""
            INSERT INTO runs (job_id, attempt, worker_id, queued_at, started_at) VALUES
            ('a', 1, 'w', 0, 1000), ('b', 1, 'w', 0, 1000), ('c', 1, 'w', 0, 1000)
            """)
        try session.execute("UPDATE runs SET finished_at = 1003, outcome = 'succeeded' WHERE job_id IN ('a', 'b')")
        try session.execute("UPDATE runs SET finished_at = 1200, outcome = 'failed' WHERE job_id = 'c'")
        try session.execute("UPDATE runs SET error = 'x' WHERE job_id = 'c'")   // already finished: not counted again
        try session.execute("INSERT INTO runs (job_id, attempt, worker_id, queued_at, started_at, finished_at, outcome) VALUES ('d', 1, 'w', 0, 0, 4000000, 'timed_out')")
        let rows = try session.query("SELECT outcome, le_ms, sum(n)::BIGINT, sum(sum_ms)::BIGINT FROM run_totals GROUP BY outcome, le_ms ORDER BY outcome")
            .map { try $0.decode((String, Int64, Int64, Int64).self) }
        #expect(rows.map(\.0) == ["failed", "succeeded", "timed_out"])
        #expect(rows.map(\.1) == [250, 5, -1])
        #expect(rows.map(\.2) == [1, 2, 1])
        #expect(rows.map(\.3) == [200, 6, 4_000_000])
    }

    /// A queue made before migration 3 keeps its totals across the upgrade, the
    /// per-row trigger is replaced by the per-statement one, and the finished-runs
    /// index covers the outcome.
    @Test func upgradingToStatementTotalsKeepsTheTotals() throws {
        let db = try TestPostgres()
        let session = PostgresSession(address: try db.parsedAddress())
        let schema = session.address.schema, s = session.address.quotedSchema
        // The queue as a queuectl that knew migrations 1 and 2 made it.
        try session.transaction {
            try session.execute("CREATE SCHEMA IF NOT EXISTS \(unescaped: s)")
            try session.execute("""
                CREATE TABLE \(unescaped: s).queuectl_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
                """)
            for statement in PostgresSchema.version1(schema) + PostgresSchema.version2(schema) {
                try session.execute(PostgresQuery(unsafeSQL: statement))
            }
            try session.execute("INSERT INTO \(unescaped: s).queuectl_migrations VALUES (1, 'v1-queue', 0), (2, 'v2-change-count', 0)")
        }
        try session.execute("INSERT INTO runs (job_id, attempt, worker_id, queued_at, started_at) VALUES ('a', 1, 'w', 0, 1000)")
        try session.execute("UPDATE runs SET finished_at = 1003, outcome = 'succeeded' WHERE job_id = 'a'")

        #expect(try PostgresSchema.migrate(session) == Array(3...PostgresSchema.latestVersion))
        try session.execute("INSERT INTO runs (job_id, attempt, worker_id, queued_at, started_at) VALUES ('b', 1, 'w', 0, 1000), ('c', 1, 'w', 0, 1000)")
        try session.execute("UPDATE runs SET finished_at = 1004, outcome = 'succeeded' WHERE job_id IN ('b', 'c')")

        let rows = try session.query("SELECT le_ms, sum(n)::BIGINT, sum(sum_ms)::BIGINT FROM run_totals WHERE outcome = 'succeeded' GROUP BY le_ms")
            .map { try $0.decode((Int64, Int64, Int64).self) }
        #expect(rows.count == 1)
        #expect(rows.first?.0 == 5)
        #expect(rows.first?.1 == 3, "the run counted before the upgrade and the two after")
        #expect(rows.first?.2 == 11, "3 ms before the upgrade, 4 ms twice after")
        let rowTriggers = try session.query("""
            SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(schema) AND c.relname = 'runs' AND NOT t.tgisinternal AND (t.tgtype & 1) = 1
            """).first?.decode(Int.self)
        #expect(rowTriggers == 0, "no trigger on runs runs per row")
        let index = try session.query("""
            SELECT indexdef FROM pg_indexes WHERE schemaname = \(schema) AND indexname = 'runs_finished'
            """).first?.decode(String.self)
        #expect(index?.contains("(finished_at, outcome)") == true, "the chart's runs by minute and outcome read the index: \(index ?? "none")")
    }
}

/// Inserts `count` jobs in one statement.
private func insertJobs(_ session: PostgresSession, count: Int, queue: String, state: String) throws {
    try session.execute("""
        INSERT INTO jobs (id, command, state, max_retries, run_at, created_at, updated_at, queue)
        SELECT \(queue) || '-' || \(state) || '-' || g, 'true', \(state), 3, 0, 0, 0, \(queue) FROM generate_series(1, \(count)) AS g
        """)
}

private func insertSQL(id: String, state: String, uniqueKey: String?) -> PostgresQuery {
    """
    INSERT INTO jobs (id, command, state, max_retries, run_at, created_at, updated_at, unique_key)
    VALUES (\(id), 'true', \(state), 3, 0, 0, 0, \(uniqueKey))
    """
}

private func counts(_ session: PostgresSession, _ query: PostgresQuery) throws -> [String: Int64] {
    var result: [String: Int64] = [:]
    for row in try session.query(query) {
        let (queue, state, n) = try row.decode((String, String, Int64).self)
        result["\(queue)/\(state)"] = n
    }
    return result
}

/// Results gathered from several threads.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<[Int], any Error>] = []
    func add(_ result: Result<[Int], any Error>) { lock.withLock { results.append(result) } }
    var all: [Result<[Int], any Error>] { lock.withLock { results } }
}
