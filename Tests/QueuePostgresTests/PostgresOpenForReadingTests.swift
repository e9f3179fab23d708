import Foundation
import PostgresNIO
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

/// A reading command's open: the schema's version rides along with the recovery
/// view in one statement, and only a queue at this queuectl's version uses it.
@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresOpenForReadingTests {
    @Test func aCurrentQueueOpensWithTheViewItsSweepWouldRead() throws {
        let f = try PostgresQueueFixture()
        let now = Timestamp.now()
        for id in ["w1", "w2"] {
            try f.store.registerWorker(WorkerRecord(id: id, pid: 1, pidStartTicks: 1, hostname: "elsewhere.invalid",
                                                    startedAt: now, heartbeatAt: now))
        }
        try f.put("p1", .processing, workerID: "w1")
        let session = PostgresSession(address: try f.db.parsedAddress())
        defer { session.close() }
        let opened = try #require(try PostgresJobStore.openForReading(session))
        let direct = try f.store.recoveryView(now: now, judgingLeases: true)
        #expect(opened.view.workers == direct.workers)
        #expect(opened.view.workers.map(\.id) == ["w1", "w2"])
        #expect(opened.view.expired == direct.expired)
        #expect(opened.view.orphansMayExist == direct.orphansMayExist)
        // The store it opened is usable on the same connection.
        #expect(try opened.store.counts()[.processing] == 1)
    }

    @Test func statusReadsTheCountsInTheSameStatement() throws {
        let f = try PostgresQueueFixture()
        let now = Timestamp.now()
        try f.store.registerWorker(WorkerRecord(id: "w1", pid: 1, pidStartTicks: 1, hostname: "elsewhere.invalid",
                                                startedAt: now, heartbeatAt: now))
        try f.put("p1", .processing, workerID: "w1")
        try f.put("p2", .pending)
        try f.put("d1", .dead)
        let session = PostgresSession(address: try f.db.parsedAddress())
        defer { session.close() }
        let opened = try #require(try PostgresJobStore.openForStatus(session))
        let (counts, workers) = try f.store.countsAndWorkers()
        #expect(opened.counts == counts)
        #expect(opened.counts[.pending] == 1 && opened.counts[.processing] == 1 && opened.counts[.dead] == 1)
        #expect(opened.view.workers == workers, "status shows the view's workers when the sweep changes nothing")
    }

    /// `list` sends its first page with the sweep's check: the same page and total
    /// as ``PostgresJobStore/jobPage(_:limit:offset:)``, in every list order, and
    /// the check agrees with the recovery view.
    @Test func listReadsItsFirstPageWithTheSweepCheck() throws {
        let f = try PostgresQueueFixture()
        let now = Timestamp.now()
        try f.store.registerWorker(WorkerRecord(id: "w1", pid: 4242, pidStartTicks: 77, hostname: "elsewhere.invalid",
                                                startedAt: now, heartbeatAt: now))
        for (index, id) in ["a", "b", "c", "d", "e"].enumerated() {
            try f.put(id, .pending, queue: index.isMultiple(of: 2) ? "mail" : "default", priority: index % 3)
        }
        try f.put("p1", .processing, workerID: "w1")
        try f.put("x1", .dead)
        let session = PostgresSession(address: try f.db.parsedAddress())
        defer { session.close() }
        for query in [JobListQuery(state: .pending, order: .oldest), JobListQuery(state: nil, order: .newest),
                      JobListQuery(state: .pending, order: .claim), JobListQuery(state: .blocked, order: .oldest)] {
            let opened = try #require(try PostgresJobStore.openForList(session, query, limit: 3))
            let direct = try f.store.jobPage(query, limit: 3, offset: 0)
            #expect(opened.page.jobs.map(\.id) == direct.jobs.map(\.id), "\(query)")
            #expect(opened.page.total == direct.total, "\(query)")
            #expect(opened.page.jobs == direct.jobs)
        }
        let opened = try #require(try PostgresJobStore.openForList(session, JobListQuery(state: nil, order: .oldest), limit: 3))
        #expect(opened.check == SweepCheck(workers: [.init(hostname: "elsewhere.invalid", pid: 4242, pidStartTicks: 77)],
                                           anyLeaseExpired: false, orphansMayExist: false))
        // A lease that ran out and an orphan show in the check as in the view.
        try f.session.execute("UPDATE workers SET heartbeat_at = heartbeat_at - 3600000")
        try f.put("o1", .processing, workerID: "gone")
        let late = try #require(try PostgresJobStore.openForList(session, JobListQuery(state: nil, order: .oldest), limit: 3))
        let view = try f.store.recoveryView(now: .now(), judgingLeases: true)
        #expect(late.check.anyLeaseExpired && view.expired["w1"] != nil)
        #expect(late.check.orphansMayExist && view.orphansMayExist)
        // With no worker at all, the check says so.
        try f.session.execute("DELETE FROM workers")
        #expect(try PostgresJobStore.openForList(session, JobListQuery(state: nil, order: .oldest), limit: 3)?.check.workers == [])
    }

    @Test func noQueueAnOlderSchemaOrANewerOneOpenTheUsualWay() throws {
        let f = try PostgresQueueFixture()
        let latest = PostgresSchema.latestVersion
        func open() throws -> Bool {
            let session = PostgresSession(address: try f.db.parsedAddress())
            defer { session.close() }
            let reading = try PostgresJobStore.openForReading(session) != nil
            let listing = try PostgresJobStore.openForList(session, JobListQuery(state: nil, order: .oldest), limit: 1) != nil
            #expect(reading == listing, "list opens where and only where the other reads do")
            return reading
        }
        #expect(try open())
        try f.session.execute("DELETE FROM queuectl_migrations WHERE version = \(latest)")
        #expect(try open() == false, "a schema one version behind")
        try f.session.execute("INSERT INTO queuectl_migrations (version, name, applied_at) VALUES (\(latest), 'back', 0)")
        try f.session.execute("INSERT INTO queuectl_migrations (version, name, applied_at) VALUES (\(latest + 1), 'future', 0)")
        #expect(try open() == false, "a schema from a newer queuectl")
        // No queue at all in that schema: the usual open reports it.
        var other = try f.db.parsedAddress()
        other.schema = "queuectl_absent_\(UUID().uuidString.prefix(8).lowercased())"
        let session = PostgresSession(address: other)
        defer { session.close() }
        #expect(try PostgresJobStore.openForReading(session) == nil)
    }

    @Test func anUnreachableServerIsReportedNotRetried() throws {
        var address = try PostgresAddress(parsing: "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
        address.schema = "public"
        let session = PostgresSession(address: address, environment: [:])
        let started = Date()
        let error = #expect(throws: QueueError.self) { try PostgresJobStore.openForReading(session) }
        #expect(error?.message.contains("cannot reach PostgreSQL") == true)
        #expect(Date().timeIntervalSince(started) < 5)
    }
}
