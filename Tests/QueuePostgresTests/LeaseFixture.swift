import Foundation
import PostgresNIO
import QueueCore
import TestSupport
@testable import QueuePostgres

/// A PostgreSQL queue of its own for one lease test: the store, and direct
/// access to its tables to set up jobs and check what the store wrote.
final class LeaseFixture: @unchecked Sendable {
    let db: TestPostgres
    let store: PostgresJobStore
    let s: String
    let t0 = Timestamp(milliseconds: 1_800_000_000_000)

    init() throws {
        db = try TestPostgres()
        store = try PostgresJobStore(address: try db.parsedAddress())
        s = store.address.quotedSchema
    }

    /// Another store on the same queue: its own connection, as another host has.
    func otherHost() throws -> PostgresJobStore { try PostgresJobStore(address: try db.parsedAddress()) }

    var session: PostgresSession { store.session }

    /// Inserts a job as enqueue would (pending when due, scheduled when ahead).
    func insert(_ id: String, queue: String = "default", priority: Int = 0, runAt: Timestamp? = nil, maxRetries: Int = 3,
                state: JobState? = nil, dependsOn: [String] = []) throws {
        let runAt = runAt ?? t0
        let state = state ?? (runAt > t0 ? .scheduled : .pending)
        try session.execute("""
            INSERT INTO \(unescaped: s).jobs (id, command, state, max_retries, priority, run_at, created_at, updated_at, queue, depends_on)
            VALUES (\(id), \("echo " + id), \(state.rawValue), \(maxRetries), \(priority), \(runAt.milliseconds),
                    \(t0.milliseconds), \(t0.milliseconds), \(queue), \(dependsOn.isEmpty ? nil : dependsOn))
            """)
        try session.execute("INSERT INTO \(unescaped: s).queues (name) VALUES (\(queue)) ON CONFLICT DO NOTHING")
        for dependency in dependsOn {
            try session.execute("INSERT INTO \(unescaped: s).job_dependencies (depends_on, job_id) VALUES (\(dependency), \(id))")
        }
    }

    @discardableResult
    func register(_ id: String, host: String = "host-a", in store: PostgresJobStore? = nil) throws -> WorkerRecord {
        let worker = WorkerRecord(id: id, pid: 4242, pidStartTicks: 7, hostname: host, startedAt: t0, heartbeatAt: t0)
        try (store ?? self.store).registerWorker(worker)
        return worker
    }

    func state(_ id: String) throws -> (state: String, attempts: Int, worker: String?) {
        try session.query("SELECT state, attempts, worker_id FROM \(unescaped: s).jobs WHERE id = \(id)").first!
            .decode((String, Int, String?).self)
    }

    func runs(_ jobID: String) throws -> [(id: Int64, outcome: String?, host: String?)] {
        try session.query("SELECT id, outcome, host FROM \(unescaped: s).runs WHERE job_id = \(jobID) ORDER BY id")
            .map { try $0.decode((Int64, String?, String?).self) }
    }

    func setConcurrency(_ queue: String, _ limit: Int) throws {
        try session.execute("UPDATE \(unescaped: s).queues SET concurrency = \(limit) WHERE name = \(queue)")
    }

    func setConfig(_ key: ConfigKey, _ value: Double) throws {
        try session.execute("""
            INSERT INTO \(unescaped: s).config (key, value) VALUES (\(key.rawValue), \(value))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """)
    }

    func claimed(_ outcome: ClaimOutcome) -> ClaimedJob? {
        if case let .claimed(job) = outcome { return job }
        return nil
    }

    func request(_ worker: String, limit: Int = 1, queues: [String]? = nil) -> ClaimRequest {
        ClaimRequest(workerID: worker, limit: limit, queues: queues, now: t0.adding(seconds: 1))
    }
}

/// Runs `body` on `count` threads at once and returns their results in order.
func concurrently<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
    let lock = NSLock()
    nonisolated(unsafe) var results = [Result<T, Error>?](repeating: nil, count: count)
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread.detachNewThread {
            let result = Result { try body(index) }
            lock.withLock { results[index] = result }
            group.leave()
        }
    }
    group.wait()
    return try results.map { try $0!.get() }
}
