import Foundation
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

/// The PostgreSQL store's enqueue, reads, counts and config, held to the SQLite
/// store's semantics (same errors, same orderings).
@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresJobStoreTests {
    let db: TestPostgres
    let store: PostgresJobStore
    /// The tests' clock: 2027-01-15T08:00:00Z.
    let now = Timestamp(milliseconds: 1_800_000_000_000)

    init() throws {
        db = try TestPostgres()
        store = try PostgresJobStore(address: try db.parsedAddress())
    }

    @Test func newJobIsPendingWithDefaultsFromConfig() throws {
        let job = try store.enqueue([JobSpec(id: "a", command: "echo hi")], now: now)[0]
        #expect(job.state == .pending && job.attempts == 0 && job.maxRetries == 3 && job.priority == 0)
        #expect(job.runAt == now && job.createdAt == now && job.updatedAt == now && job.queue == "default")
        #expect(try store.job(id: "a") == job)
        try store.setConfig(.maxRetries, 7)
        #expect(try store.enqueue([JobSpec(id: "b", command: "true")], now: now)[0].maxRetries == 7)
        #expect(try store.job(id: "b").maxRetries == 7)
    }

    @Test func everyFieldIsStoredAsGiven() throws {
        let runAt = now.adding(seconds: 90)
        var queued = try JobSpec(id: "other", command: "x", maxRetries: 1, priority: 2, runAt: nil, delaySeconds: nil, timeout: 0.5)
        queued.queue = "mail"
        let specs = [
            try JobSpec(id: "full", command: "printf 'é \\n'; exit 4", maxRetries: 5, priority: -7, runAt: runAt,
                        delaySeconds: nil, timeout: 12.5),
            try JobSpec(id: "bare", command: "true", maxRetries: nil, priority: 0, runAt: nil, delaySeconds: nil, timeout: nil),
            queued,
        ]
        let enqueued = try store.enqueue(specs, now: now)
        let full = try store.job(id: "full"), bare = try store.job(id: "bare"), other = try store.job(id: "other")
        #expect(full.command == "printf 'é \\n'; exit 4")
        #expect(full.maxRetries == 5 && full.priority == -7 && full.timeout == 12.5 && full.runAt == runAt)
        #expect(full.state == .scheduled, "not due: waits outside the claim's index")
        #expect(bare.maxRetries == 3 && bare.timeout == nil && bare.runAt == now && bare.state == .pending)
        #expect(other.queue == "mail" && other.timeout == 0.5 && other.priority == 2)
        #expect(enqueued == [full, bare, other])
    }

    @Test func batchIsAllOrNothingOnADuplicateWithinIt() throws {
        let specs = try [JobSpec(id: "x", command: "true"), JobSpec(id: "y", command: "true"), JobSpec(id: "x", command: "false")]
        let error = try #require(throws: QueueError.self) { try store.enqueue(specs, now: now) }
        #expect(error.kind == .invalidInput)
        #expect(error.message == "a job with id 'x' already exists (job 3 of 3); nothing was enqueued")
        #expect(try store.jobs(state: nil, limit: 100).isEmpty)
        #expect(try store.counts().total == 0)
    }

    @Test func duplicateOfAnExistingJobNeverOverwritesIt() throws {
        let original = try store.enqueue([JobSpec(id: "dup", command: "echo original")], now: now)[0]
        let batch = try [JobSpec(id: "fresh", command: "true"), JobSpec(id: "dup", command: "echo replaced")]
        let error = try #require(throws: QueueError.self) { try store.enqueue(batch, now: now.adding(seconds: 1)) }
        #expect(error.message == "a job with id 'dup' already exists (job 2 of 2); nothing was enqueued")
        #expect(try store.job(id: "dup") == original)
        #expect(throws: QueueError.self) { try store.job(id: "fresh") }
        #expect(try store.counts()[.pending] == 1)
    }

    @Test func bigBatchKeepsItsOrderAcrossStatements() throws {
        let count = PostgresJobStore.insertChunk * 2 + 17
        let specs = try (0..<count).map { try JobSpec(id: "j\($0)", command: "true", priority: $0 % 3) }
        let jobs = try store.enqueue(specs, now: now)
        #expect(jobs.count == count)
        #expect(try store.counts()[.pending] == count)
        let listed = try store.jobs(state: .pending, limit: 3, offset: PostgresJobStore.insertChunk - 1).map(\.id)
        #expect(listed == ["j\(PostgresJobStore.insertChunk - 1)", "j\(PostgresJobStore.insertChunk)", "j\(PostgresJobStore.insertChunk + 1)"])
    }

    @Test func streamedBatchesAreOneTransaction() throws {
        var batches = [try (0..<3).map { try JobSpec(id: "s\($0)", command: "true") }, [try JobSpec(id: "s1", command: "true")]]
        var seen: [String] = []
        let error = try #require(throws: QueueError.self) {
            try store.enqueue(batches: { batches.isEmpty ? nil : batches.removeFirst() }, total: nil, now: now) { seen.append($0.job.id) }
        }
        #expect(error.message == "a job with id 's1' already exists (job 4); nothing was enqueued")
        #expect(seen == ["s0", "s1", "s2"])
        #expect(try store.counts().total == 0)
    }

    /// The planner's idea of the table's size: -1 before the first ANALYZE.
    func estimatedJobRows() throws -> Double {
        try store.session.query("SELECT reltuples::FLOAT8 FROM pg_class WHERE oid = 'jobs'::regclass").first!.decode(Double.self)
    }

    /// A load of a tenth or more of what the statistics last saw brings them up to
    /// date at once; a smaller one leaves them to autovacuum.
    @Test func aLargeLoadAnalyzesTheTableASmallOneDoesNot() throws {
        let large = PostgresJobStore.analyzeAfterLoad
        _ = try store.enqueue((0..<large - 1).map { try JobSpec(id: "s\($0)", command: "true") }, now: now)
        #expect(try estimatedJobRows() == -1, "too few to analyze")
        var batches = [try (0..<large).map { try JobSpec(id: "l\($0)", command: "true") }]
        _ = try store.enqueue(batches: { batches.popLast() }, now: now) { _ in }
        #expect(try estimatedJobRows() == Double(2 * large - 1), "analyzed after the load")
        let analyzed = try store.session.query("""
            SELECT attname FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'jobs' ORDER BY attname
            """).map { try $0.decode(String.self) }
        #expect(analyzed == ["queue", "state"])
        // Twenty times the load already in the statistics: the next load is left alone.
        try store.session.execute("""
            INSERT INTO jobs (id, command, state, max_retries, run_at, created_at, updated_at)
            SELECT 'old-' || g, 'true', 'completed', 3, 0, 0, 0 FROM generate_series(1, \(unescaped: String(18 * large + 1))) AS g
            """)
        try store.session.execute("ANALYZE jobs")
        #expect(try estimatedJobRows() == Double(20 * large))
        _ = try store.enqueue((0..<large).map { try JobSpec(id: "m\($0)", command: "true") }, now: now)
        #expect(try estimatedJobRows() == Double(20 * large), "not analyzed again")
    }

    @Test func listsByStateOldestFirstWithOffset() throws {
        _ = try store.enqueue((0..<5).map { try JobSpec(id: "p\($0)", command: "true") }, now: now)
        _ = try store.enqueue([try JobSpec(id: "later", command: "true", runAt: now.adding(seconds: 60))], now: now)
        #expect(try store.jobs(state: .pending, limit: 2, offset: 1).map(\.id) == ["p1", "p2"])
        #expect(try store.jobs(state: .scheduled, limit: 10).map(\.id) == ["later"])
        #expect(try store.jobs(state: nil, limit: 10).map(\.id) == ["p0", "p1", "p2", "p3", "p4", "later"])
        #expect(try store.jobs(state: .completed, limit: 10).isEmpty)
        let counts = try store.counts()
        #expect(counts[.pending] == 5 && counts[.scheduled] == 1 && counts.total == 6)
    }

    @Test func unknownJobIsNotFound() throws {
        let error = try #require(throws: QueueError.self) { try store.job(id: "nope") }
        #expect(error.kind == .notFound)
        #expect(error.message == "no job with id \"nope\"")
    }

    @Test func configSetsAndUnsets() throws {
        #expect(try store.config() == QueueConfig())
        try store.setConfig(.leaseTimeout, 30)
        try store.setConfig(.leaseTimeout, 45)
        try store.setConfig(.maxRetries, 1)
        #expect(try store.config().values == [.leaseTimeout: 45, .maxRetries: 1])
        try store.unsetConfig(.leaseTimeout)
        #expect(try store.config().values == [.maxRetries: 1])
    }

    @Test func uniqueKeyReturnsTheJobAlreadyQueued() throws {
        var first = try JobSpec(id: "u1", command: "true")
        first.uniqueKey = "nightly"
        var second = try JobSpec(id: "u2", command: "true")
        second.uniqueKey = "nightly"
        let results = try store.enqueueReportingDuplicates([first, second], now: now)
        #expect(results.map(\.job.id) == ["u1", "u1"])
        #expect(results.map(\.duplicate) == [false, true])
        #expect(try store.job(id: "u1").uniqueKey == "nightly")
        #expect(throws: QueueError.self) { try store.job(id: "u2") }
    }

    @Test func dependenciesBlockCancelOrFail() throws {
        _ = try store.enqueue([try JobSpec(id: "parent", command: "true")], now: now)
        var child = try JobSpec(id: "child", command: "true")
        child.dependsOn = ["parent"]
        child.tags = ["a", "b"]
        child.options = JobOptions(cwd: "/tmp", env: ["K": "V"])
        let blocked = try store.enqueue([child], now: now)[0]
        #expect(blocked.state == .blocked)
        let stored = try store.job(id: "child")
        #expect(stored == blocked)
        #expect(stored.tags == ["a", "b"] && stored.dependsOn == ["parent"] && stored.options.env == ["K": "V"])

        var orphan = try JobSpec(id: "orphan", command: "true")
        orphan.dependsOn = ["missing"]
        let error = try #require(throws: QueueError.self) { try store.enqueue([orphan], now: now) }
        #expect(error.kind == .invalidInput)
        #expect(error.message.contains("no job with id 'missing'"))

        try store.session.execute("UPDATE jobs SET state = 'dead' WHERE id = 'parent'")
        var doomed = try JobSpec(id: "doomed", command: "true")
        doomed.dependsOn = ["parent"]
        let cancelled = try store.enqueue([doomed], now: now)[0]
        #expect(cancelled.state == .cancelled)
        #expect(cancelled.lastError == Cancellation.dependencyReason(dependency: "parent", state: .dead))
        let events = try store.session.query("SELECT kind FROM events WHERE job_id = 'doomed'").map { try $0.decode(String.self) }
        #expect(events == ["cancelled"])
    }

    @Test func dependencyMayComeEarlierInTheSameBatch() throws {
        var child = try JobSpec(id: "c", command: "true")
        child.dependsOn = ["p"]
        let jobs = try store.enqueue([try JobSpec(id: "p", command: "true"), child], now: now)
        #expect(jobs.map(\.state) == [.pending, .blocked])
        #expect(try store.counts()[.blocked] == 1)
    }

    @Test func enqueueRegistersItsQueues() throws {
        var spec = try JobSpec(command: "true")
        spec.queue = "reports"
        _ = try store.enqueue([spec], now: now)
        let names = try store.session.query("SELECT name FROM queues ORDER BY name").map { try $0.decode(String.self) }
        #expect(names == ["default", "reports"])
    }

    @Test func hostsEnqueuingOneUniqueKeyAtOnceGetOneJob() throws {
        let address = try db.parsedAddress()
        let stores = try (0..<6).map { _ in try PostgresJobStore(address: address) }
        let ids = IDBox()
        let start = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for (index, other) in stores.enumerated() {
            group.enter()
            Thread.detachNewThread { [now] in
                defer { group.leave() }
                start.wait()
                guard var spec = try? JobSpec(id: "host\(index)", command: "true") else { return }
                spec.uniqueKey = "deploy"
                if let job = try? other.enqueue([spec], now: now).first { ids.add(job.id) }
            }
        }
        for _ in stores { start.signal() }
        group.wait()
        #expect(ids.all.count == stores.count)
        #expect(Set(ids.all).count == 1)
        #expect(try store.counts().total == 1)
    }
}

/// Ids gathered from several threads.
final class IDBox: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String] = []
    func add(_ id: String) { lock.withLock { ids.append(id) } }
    var all: [String] { lock.withLock { ids } }
}
