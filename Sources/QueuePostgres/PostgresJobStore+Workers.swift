import PostgresNIO
import QueueCore

/// Workers: registration, heartbeats on the database's clock, stops.
///
/// A worker's lease is its row's `heartbeat_at`, always written with
/// `queuectl_now_ms()` (the server's clock) and judged against it, so a host whose
/// clock runs ahead or behind can neither expire live workers nor keep dead ones.
extension PostgresJobStore {
    public func registerWorker(_ worker: WorkerRecord) throws {
        try Self.insertWorker(session, address.quotedSchema, worker)
    }

    /// Registers the worker unless a stop of every worker came after `generation`.
    /// The stop counter's row is read `FOR SHARE`: a concurrent
    /// ``requestStopOfAllWorkers()`` either commits first (this sees its count and
    /// refuses) or waits for this insert and then asks the new worker to stop too.
    public func registerWorker(_ worker: WorkerRecord, unlessStoppedSince generation: Int64) throws -> Bool {
        let s = address.quotedSchema
        return try session.transaction {
            let current = try session.query("SELECT generation FROM \(unescaped: s).worker_stops WHERE id = 1 FOR SHARE")
                .first?.decode(Int64.self) ?? 0
            guard current <= generation else { return false }
            try Self.insertWorker(session, s, worker)
            return true
        }
    }

    private static func insertWorker(_ session: PostgresSession, _ s: String, _ w: WorkerRecord) throws {
        try session.execute("""
            INSERT INTO \(unescaped: s).workers (id, pid, pid_start, host, started_at, heartbeat_at, jobs_done, stop_requested, queues)
            VALUES (\(w.id), \(w.pid), \(w.pidStartTicks), \(w.hostname), \(w.startedAt.milliseconds),
                    \(unescaped: s).queuectl_now_ms(), 0, FALSE, \(w.queues))
            """)
    }

    public func deregisterWorker(id: String) throws {
        try session.execute("DELETE FROM \(unescaped: address.quotedSchema).workers WHERE id = \(id)")
    }

    /// Every registered worker, oldest first. What it is doing comes from a job it
    /// holds (its claim time is the job's `updated_at`): claims and results never
    /// write the worker's row.
    public func workers() throws -> [WorkerRecord] {
        try session.query("SELECT \(unescaped: Self.workerColumns) FROM \(unescaped: Self.workerTables(address.quotedSchema)) ORDER BY w.started_at, w.id")
            .map { try Self.worker($0.makeRandomAccess()) }
    }

    /// The counts by state and the workers in one statement: one round trip and
    /// one snapshot for `status`, the dashboard and the console. With no worker,
    /// one row of NULL worker columns carries the counts.
    public func countsAndWorkers() throws -> (counts: JobCounts, workers: [WorkerRecord]) {
        let s = address.quotedSchema
        let rows = try session.read("""
            SELECT \(unescaped: Self.workerColumns), c.states, c.ns
            FROM \(unescaped: Self.countsTableSQL(s))
            LEFT JOIN (\(unescaped: Self.workerTables(s))) ON TRUE
            ORDER BY w.started_at, w.id
            """)
        guard let first = rows.first?.makeRandomAccess() else { throw QueueError.runtime("the status read returned no row") }
        let counts = Self.jobCounts(zip(try first[12].decode([String].self), try first[13].decode([Int].self)))
        return (counts, try rows.compactMap { try Self.registeredWorker($0.makeRandomAccess()) })
    }

    /// A one-row table `c` of the job counts: `states` and `ns`, two arrays side
    /// by side (the counter shards summed per state).
    static func countsTableSQL(_ s: String) -> String {
        """
        (SELECT coalesce(array_agg(state), '{}') AS states, coalesce(array_agg(n), '{}') AS ns
         FROM (SELECT state, sum(n)::BIGINT AS n FROM \(s).job_counts GROUP BY state) AS t) AS c
        """
    }

    /// The worker of a row of ``workerTables(_:)`` joined to a one-row table, nil
    /// for the row of NULLs that stands for no worker.
    static func registeredWorker(_ columns: PostgresRandomAccessRow) throws -> WorkerRecord? {
        try columns[0].decode(String?.self) == nil ? nil : try worker(columns)
    }

    /// The columns ``worker(_:)`` reads, from ``workerTables(_:)``.
    static let workerColumns = """
        w.id, w.pid, w.pid_start, w.host,
            CASE WHEN w.stop_requested THEN 'stopping' WHEN j.id IS NOT NULL THEN 'busy' ELSE 'idle' END,
            j.id, j.updated_at, w.started_at, w.heartbeat_at, w.jobs_done, w.stop_requested, w.queues
        """

    /// Each worker with one job it holds, if any.
    static func workerTables(_ s: String) -> String {
        """
        \(s).workers w
        LEFT JOIN LATERAL (SELECT id, updated_at FROM \(s).jobs
                           WHERE state = 'processing' AND worker_id = w.id ORDER BY seq LIMIT 1) j ON TRUE
        """
    }

    static func worker(_ row: PostgresRandomAccessRow) throws -> WorkerRecord {
        WorkerRecord(
            id: try row[0].decode(String.self), pid: try row[1].decode(Int.self), pidStartTicks: try row[2].decode(Int64.self),
            hostname: try row[3].decode(String.self), state: WorkerState(rawValue: try row[4].decode(String.self)) ?? .idle,
            jobID: try row[5].decode(String?.self), jobStartedAt: try row[6].decode(Int64?.self).map(Timestamp.init(milliseconds:)),
            startedAt: Timestamp(milliseconds: try row[7].decode(Int64.self)),
            heartbeatAt: Timestamp(milliseconds: try row[8].decode(Int64.self)),
            jobsDone: try row[9].decode(Int.self), stopRequested: try row[10].decode(Bool.self),
            queues: try row[11].decode([String]?.self))
    }

    public func stopGeneration() throws -> Int64 {
        try session.query("SELECT generation FROM \(unescaped: address.quotedSchema).worker_stops WHERE id = 1").first?.decode(Int64.self) ?? 0
    }

    public func requestStop(workerIDs: [String]) throws {
        try session.execute("UPDATE \(unescaped: address.quotedSchema).workers SET stop_requested = TRUE WHERE id = ANY(\(workerIDs))")
    }

    /// Counts up the stop generation and asks every registered worker to stop, in
    /// one transaction; returns the workers, read after it committed (see
    /// ``registerWorker(_:unlessStoppedSince:)`` for the race with a start).
    public func requestStopOfAllWorkers() throws -> [WorkerRecord] {
        let s = address.quotedSchema
        try session.transaction {
            try session.execute("UPDATE \(unescaped: s).worker_stops SET generation = generation + 1 WHERE id = 1")
            try session.execute("UPDATE \(unescaped: s).workers SET stop_requested = TRUE")
        }
        return try workers()
    }

    /// Renews the lease at the database's time and returns it with the running
    /// jobs of this worker whose cancel was requested, in one statement; nil when
    /// the worker's row is gone (recovery released it).
    public func heartbeat(workerID: String, jobsDone: Int) throws -> (at: Timestamp, cancelled: [String])? {
        let s = address.quotedSchema
        guard let row = try session.query("""
            UPDATE \(unescaped: s).workers SET heartbeat_at = \(unescaped: s).queuectl_now_ms(),
                jobs_done = greatest(jobs_done, \(jobsDone))
            WHERE id = \(workerID)
            RETURNING heartbeat_at, ARRAY(SELECT id FROM \(unescaped: s).jobs
                                          WHERE state = 'processing' AND worker_id = \(workerID) AND cancel_requested
                                          ORDER BY seq)
            """).first else { return nil }
        let (at, cancelled) = try row.decode((Int64, [String]).self)
        return (Timestamp(milliseconds: at), cancelled)
    }

    /// Workers with no heartbeat for longer than `leaseTimeout` seconds on the
    /// database's clock (`now`, the caller's clock, is not used: workers on other
    /// hosts wrote their heartbeats with the server's).
    ///
    /// Silence while the server itself was down is not held against a worker: the
    /// lease counts from the later of its last heartbeat and the server's start
    /// (`pg_postmaster_start_time()`). Workers cannot heartbeat to a stopped
    /// server, and after a restart that outlasted the lease every worker looks
    /// dead until its next heartbeat lands (within a quarter of a second); a
    /// command run in that moment (`status`, say) would otherwise release them
    /// all, and their jobs would run again. A worker that really died is found a
    /// lease after the server's return at the latest.
    public func expiredWorkers(leaseTimeout: Double, now: Timestamp) throws -> [(worker: WorkerRecord, silentFor: Double)] {
        let s = address.quotedSchema
        return try session.query("""
            SELECT \(unescaped: Self.workerColumns), \(unescaped: s).queuectl_now_ms() - w.heartbeat_at
            FROM \(unescaped: Self.workerTables(s))
            WHERE \(unescaped: Self.leaseAgeSQL(s)) > \(Self.leaseLimitMilliseconds(leaseTimeout))
            ORDER BY w.started_at, w.id
            """).map { row in
            let columns = row.makeRandomAccess()
            return (try Self.worker(columns), Double(try columns[12].decode(Int64.self)) / 1000)
        }
    }

    /// A lost connection is an error of the statement that finds it, not a lost
    /// queue. The queue is lost when its schema was dropped under its workers (as a
    /// SQLite file deleted): after a statement failed on a missing table, one
    /// query tells whether the queue's tables are gone.
    public func storageLost() -> String? {
        guard session.lastErrorState == PostgresQueryError.undefinedTable,
              let gone = try? session.query("SELECT to_regclass(\(address.quotedSchema + ".jobs")) IS NULL").first?.decode(Bool.self),
              gone else { return nil }
        return "the queue at \(address.redacted) was removed (schema \(address.schema) holds no jobs table)"
    }

    /// Stores a worker's count of finished jobs; never lowers it.
    static func recordJobsDone(_ session: PostgresSession, _ s: String, workerID: String, jobsDone: Int) throws {
        try session.execute("UPDATE \(unescaped: s).workers SET jobs_done = greatest(jobs_done, \(jobsDone)) WHERE id = \(workerID)")
    }
}

extension PostgresJobStore {
    /// How long worker `w`'s lease has run, in ms on the database's clock: from the
    /// later of its last heartbeat and the server's start (see ``expiredWorkers(leaseTimeout:now:)``).
    static func leaseAgeSQL(_ s: String) -> String {
        "\(s).queuectl_now_ms() - greatest(w.heartbeat_at, (extract(epoch FROM pg_postmaster_start_time()) * 1000)::BIGINT)"
    }

    /// A lease of `seconds` as the whole milliseconds ``leaseAgeSQL(_:)`` is compared with.
    static func leaseLimitMilliseconds(_ seconds: Double) -> Int64 { Int64((seconds * 1000).rounded(.down)) }
}
