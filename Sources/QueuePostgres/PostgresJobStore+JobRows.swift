import PostgresNIO
import QueueCore

/// What the queue-side operations (retry, requeue, run-now, cancel, delete) share:
/// reading jobs as `Job`s, locking the jobs a command names, and recording the
/// changes they make in `events` (see `QueueEvent`).
extension PostgresJobStore {
    /// Columns in the order ``job(from:)`` reads them.
    static let jobColumns = """
        id, command, state, attempts, max_retries, priority, run_at, timeout, created_at, updated_at, last_error, \
        exit_code, worker_id, queue, options, tags, unique_key, depends_on, requeued_from, cancel_requested
        """

    /// A row of ``jobColumns`` as a `Job`.
    static func job(from row: PostgresRow) throws -> Job {
        let cells = row.makeRandomAccess()
        let stateText = try cells[2].decode(String.self)
        guard let state = JobState(rawValue: stateText) else {
            throw QueueError.runtime("database holds an unknown job state '\(stateText)'")
        }
        var job = Job(
            id: try cells[0].decode(String.self), command: try cells[1].decode(String.self), state: state,
            attempts: try cells[3].decode(Int.self), maxRetries: try cells[4].decode(Int.self),
            priority: try cells[5].decode(Int.self), runAt: Timestamp(milliseconds: try cells[6].decode(Int64.self)),
            timeout: try cells[7].decode(Double?.self),
            createdAt: Timestamp(milliseconds: try cells[8].decode(Int64.self)),
            updatedAt: Timestamp(milliseconds: try cells[9].decode(Int64.self)),
            lastError: try cells[10].decode(String?.self), exitCode: try cells[11].decode(Int?.self),
            workerID: try cells[12].decode(String?.self), queue: try cells[13].decode(String.self))
        // Job-control columns, NULL for plain jobs.
        if let text = try cells[14].decode(String?.self) { job.options = JobOptions(storedText: text) }
        job.tags = try cells[15].decode([String]?.self) ?? []
        job.uniqueKey = try cells[16].decode(String?.self)
        job.dependsOn = try cells[17].decode([String]?.self) ?? []
        job.requeuedFrom = try cells[18].decode(String?.self)
        job.cancelRequested = try cells[19].decode(Bool.self)
        return job
    }

    /// `ids` without repeats, in the order given: a command naming a job twice acts once.
    static func distinct(_ ids: [String]) -> [String] {
        var seen = Set<String>()
        return ids.filter { seen.insert($0).inserted }
    }

    /// Locks the jobs named (inside a transaction) and returns them in the order
    /// given, each once; the first id that names no job is "not found", worded as
    /// `job(id:)` words it. Rows are locked in `seq` order, the order bulk updates
    /// lock them in, so two commands naming the same jobs cannot deadlock.
    func lockJobs(ids: [String]) throws -> [Job] {
        let unique = Self.distinct(ids)
        guard !unique.isEmpty else { return [] }
        var found: [String: Job] = [:]
        for row in try session.query("""
            SELECT \(unescaped: Self.jobColumns) FROM jobs WHERE id = ANY(\(unique)) ORDER BY seq FOR UPDATE
            """) {
            let job = try Self.job(from: row)
            found[job.id] = job
        }
        return try unique.map { id in
            guard let job = found[id] else { throw QueueError.notFound("no job with id \(SafeText.quoted(id))") }
            return job
        }
    }

    /// The jobs with these ids, in the order given (ids that name none are left out).
    func readJobs(ids: [String]) throws -> [Job] {
        guard !ids.isEmpty else { return [] }
        var found: [String: Job] = [:]
        for row in try session.query("SELECT \(unescaped: Self.jobColumns) FROM jobs WHERE id = ANY(\(ids))") {
            let job = try Self.job(from: row)
            found[job.id] = job
        }
        return ids.compactMap { found[$0] }
    }

    /// Records the same change for many jobs in one statement (see `QueueEvent`);
    /// the detail is each job's `last_error` when `detail` is nil.
    func recordEvents(_ kind: String, jobIDs: [String], detail: String? = nil, now: Timestamp) throws {
        guard !jobIDs.isEmpty else { return }
        try session.execute("""
            INSERT INTO events (at, job_id, kind, detail)
            SELECT \(now.milliseconds), j.id, \(kind), coalesce(\(detail)::text, j.last_error)
            FROM unnest(\(jobIDs)::text[]) WITH ORDINALITY AS given(id, n) JOIN jobs j ON j.id = given.id
            ORDER BY given.n
            """)
    }

    /// Records one change of one job, `detail` as given.
    func recordEvent(_ kind: String, jobID: String, detail: String? = nil, now: Timestamp) throws {
        try session.execute("""
            INSERT INTO events (at, job_id, kind, detail) VALUES (\(now.milliseconds), \(jobID), \(kind), \(detail))
            """)
    }

    /// Wakes idle workers when the transaction commits (`NOTIFY` on the wake channel),
    /// or at once outside one.
    func wakeWorkers() throws {
        try session.execute("SELECT pg_notify(\(PostgresSchema.wakeChannel(schema: schema)), '')")
    }
}
