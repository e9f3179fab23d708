import Foundation
import PostgresNIO
import QueueCore
import TestSupport
@testable import QueuePostgres

/// A queue in a schema of its own for one test, with jobs put straight into any
/// state (as a worker's claim, a run's end or recovery would leave them), so the
/// queue-side operations can be tested without running workers.
final class PostgresQueueFixture {
    let db: TestPostgres
    let store: PostgresJobStore
    var session: PostgresSession { store.session }
    let now = Timestamp(milliseconds: 1_800_000_000_000)

    init() throws {
        db = try TestPostgres()
        store = try PostgresJobStore(address: try db.parsedAddress())
    }

    /// Inserts a job as the store holds it in `state`.
    @discardableResult
    func put(_ id: String, _ state: JobState, queue: String = "default", dependsOn: [String] = [], priority: Int = 0,
             runAt: Timestamp? = nil, updatedAt: Timestamp? = nil, attempts: Int = 0, workerID: String? = nil,
             uniqueKey: String? = nil, lastError: String? = nil) throws -> String {
        let runAt = runAt ?? now
        let worker = workerID ?? (state == .processing ? "w1" : nil)
        try session.execute("""
            INSERT INTO jobs (id, command, state, attempts, max_retries, priority, run_at, created_at, updated_at, queue,
                              worker_id, depends_on, unique_key, last_error)
            VALUES (\(id), \("echo \(id)"), \(state.rawValue), \(attempts), 2, \(priority), \(runAt.milliseconds),
                    \(now.milliseconds), \((updatedAt ?? now).milliseconds), \(queue), \(worker),
                    \(dependsOn.isEmpty ? nil : dependsOn), \(uniqueKey), \(lastError))
            """)
        for dependency in dependsOn {
            try session.execute("INSERT INTO job_dependencies (depends_on, job_id) VALUES (\(dependency), \(id))")
        }
        try session.execute("INSERT INTO queues (name) VALUES (\(queue)) ON CONFLICT DO NOTHING")
        return id
    }

    /// Adds a finished run with output to a job.
    func addRun(_ jobID: String) throws {
        let runID = try session.query("""
            INSERT INTO runs (job_id, attempt, worker_id, queued_at, started_at, finished_at, outcome)
            VALUES (\(jobID), 1, 'w1', \(now.milliseconds), \(now.milliseconds), \(now.milliseconds), 'failed') RETURNING id
            """).first!.decode(Int64.self)
        try session.execute("INSERT INTO run_output (run_id, \"offset\", chunk) VALUES (\(runID), 0, \(ByteBuffer(string: "out")))")
    }

    func state(_ id: String) throws -> JobState? {
        try session.query("SELECT state FROM jobs WHERE id = \(id)").first.map { JobState(rawValue: try $0.decode(String.self))! }
    }

    func job(_ id: String) throws -> Job {
        try store.job(id: id)
    }

    /// The changes recorded for a job, oldest first, as "kind: detail".
    func events(_ id: String) throws -> [String] {
        try session.query("SELECT kind, detail FROM events WHERE job_id = \(id) ORDER BY id").map {
            let (kind, detail) = try $0.decode((String, String?).self)
            return detail.map { "\(kind): \($0)" } ?? kind
        }
    }

    /// Jobs in `state` (nil: all) as the trigger-kept counts have them.
    func counted(_ state: JobState?) throws -> Int {
        try session.query("""
            SELECT coalesce(sum(n), 0)::bigint FROM job_counts WHERE \(state == nil) OR state = \(state?.rawValue ?? "")
            """).first!.decode(Int.self)
    }

    func count(_ table: String) throws -> Int {
        try session.query("SELECT count(*) FROM \(unescaped: table)").first!.decode(Int.self)
    }
}
