import PostgresNIO
import QueueCore

/// Recovery: the jobs of workers presumed dead go through the retry path.
extension PostgresJobStore {
    /// Releases a lost worker: every job it held gets an `interrupted` run and goes
    /// through the retry path, and its row is deleted, so the process, if it still
    /// runs somewhere, finds itself released at its next heartbeat or claim.
    ///
    /// The worker's row is locked first: a claim in progress holds it `FOR KEY
    /// SHARE` until it commits, so every job the worker claimed is seen here. For
    /// an expired lease, a heartbeat that came since `worker` was read (its
    /// `heartbeat_at` differs) cancels the release. Jobs whose runs come after
    /// `startedThrough` were claimed ahead and never started: they are given back.
    /// nil when the worker was not released.
    public func releaseWorker(_ worker: WorkerRecord, loss: WorkerLoss, startedThrough: Int64?,
                              now: Timestamp) throws -> [InterruptedRun]? {
        let s = address.quotedSchema
        return try session.transaction {
            guard let heartbeat = try session.query("""
                SELECT heartbeat_at FROM \(unescaped: s).workers WHERE id = \(worker.id) FOR UPDATE
                """).first?.decode(Int64.self) else { return nil }
            if case .leaseExpired = loss, heartbeat != worker.heartbeatAt.milliseconds { return nil }
            let jobs = try session.query("""
                SELECT \(unescaped: Job.postgresColumns) FROM \(unescaped: s).jobs
                WHERE state = 'processing' AND worker_id = \(worker.id) ORDER BY seq FOR UPDATE
                """).map { try Job(postgresRow: $0) }
            let interrupted = try interrupt(s, jobs, reason: loss.message, startedThrough: startedThrough, now: now)
            try session.execute("DELETE FROM \(unescaped: s).workers WHERE id = \(worker.id)")
            return interrupted
        }
    }

    /// Releases `processing` jobs whose worker row no longer exists (a worker
    /// deregistered or released while a claim of its was committing).
    public func releaseOrphanedJobs(now: Timestamp) throws -> [InterruptedRun] {
        let s = address.quotedSchema
        let condition = """
            state = 'processing' AND (worker_id IS NULL
                OR NOT EXISTS (SELECT 1 FROM \(s).workers w WHERE w.id = jobs.worker_id))
            """
        // Looking is a read; only orphans found open a transaction.
        guard try session.read("SELECT EXISTS (SELECT 1 FROM \(unescaped: s).jobs WHERE \(unescaped: condition))")
            .first?.decode(Bool.self) == true else { return [] }
        return try session.transaction {
            let jobs = try session.query("""
                SELECT \(unescaped: Job.postgresColumns) FROM \(unescaped: s).jobs WHERE \(unescaped: condition)
                ORDER BY seq FOR UPDATE SKIP LOCKED
                """).map { try Job(postgresRow: $0) }
            return try interrupt(s, jobs, reason: "worker no longer registered", now: now)
        }
    }

    /// Marks the runs of `jobs` (locked by the caller) interrupted and applies
    /// each job's ending (`RunEnding.decide`: retry, dead, or cancelled when a
    /// cancel was requested).
    private func interrupt(_ s: String, _ jobs: [Job], reason: String,
                                  startedThrough: Int64? = nil, now: Timestamp) throws -> [InterruptedRun] {
        guard !jobs.isEmpty else { return [] }
        let policy = try Self.loadConfig(session).retryPolicy
        var result: [InterruptedRun] = []
        for job in jobs {
            let run = try session.query("""
                SELECT id, pid, pid_start, host FROM \(unescaped: s).runs
                WHERE job_id = \(job.id) AND finished_at IS NULL ORDER BY id DESC LIMIT 1
                """).first.map { try $0.decode((Int64, Int?, Int64?, String?).self) }
            if let run, let startedThrough, let workerID = job.workerID, run.0 > startedThrough,
               let state = try giveBack(s, [(job, run.0)], workerID: workerID, now: now)[job.id] {
                result.append(InterruptedRun(runID: nil, jobID: job.id, attempt: job.attempts - 1, workerID: workerID,
                                             pid: nil, pidStartTicks: nil, newState: state, started: false, host: run.3))
                continue
            }
            let next = RunEnding.decide(job: job, outcome: .interrupted, exitCode: nil, error: reason,
                                        cancelRequested: job.cancelRequested, policy: policy, now: now)
            try session.execute("""
                UPDATE \(unescaped: s).jobs SET state = \(next.state.rawValue), run_at = \((next.retryAt ?? job.runAt).milliseconds),
                    updated_at = \(now.milliseconds), last_error = \(next.error), exit_code = NULL, worker_id = NULL
                WHERE id = \(job.id) AND state = 'processing'
                """)
            try recordEnding(jobID: job.id, attempt: job.attempts, state: next.state, retryAt: next.retryAt,
                                      error: next.error, now: now)
            if next.state.isFinal { try settleDependents(of: job.id, endedIn: next.state, now: now) }
            if let run {
                try session.execute("""
                    UPDATE \(unescaped: s).runs SET finished_at = \(now.milliseconds), outcome = 'interrupted', error = \(reason)
                    WHERE id = \(run.0)
                    """)
            }
            result.append(InterruptedRun(runID: run?.0, jobID: job.id, attempt: job.attempts, workerID: job.workerID ?? "",
                                         pid: run?.1, pidStartTicks: run?.2, newState: next.state, host: run?.3))
        }
        return result
    }
}

extension PostgresJobStore {
    /// What a sweep looks at, in one statement (a command's sweep was four round
    /// trips: the config, the expired workers, the workers, the orphans): every
    /// worker with its silence and its lease age as ``expiredWorkers(leaseTimeout:now:)``
    /// measures them (from the later of its heartbeat and the server's start, on the
    /// database's clock), the config that says how long a lease is, and whether a
    /// job is held by no registered worker. With no worker, one row of NULL worker
    /// columns carries the rest.
    public func recoveryView(now: Timestamp, judgingLeases: Bool) throws -> RecoveryView {
        try Self.recoveryView(session.read(PostgresQuery(unsafeSQL: Self.recoveryViewSQL(address.quotedSchema))),
                              judgingLeases: judgingLeases)
    }

    /// The statement of ``recoveryView(now:judgingLeases:)``; `extraColumns` go
    /// after its own (read them from column ``recoveryViewColumns``).
    /// `leading` is the one-row table the workers are joined to (its columns can
    /// be read as extra columns).
    static func recoveryViewSQL(_ s: String, extraColumns: String = "", leading: String = "(SELECT 1) AS one") -> String {
        """
        SELECT \(workerColumns),
            \(s).queuectl_now_ms() - w.heartbeat_at, \(leaseAgeSQL(s)),
            \(configArraysSQL(s)),
            \(orphansMayExistSQL(s))\(extraColumns)
        FROM \(leading) LEFT JOIN (\(workerTables(s))) ON TRUE
        ORDER BY w.started_at, w.id
        """
    }

    /// Whether a `processing` job is held by no registered worker.
    static func orphansMayExistSQL(_ s: String) -> String {
        """
        EXISTS (SELECT 1 FROM \(s).jobs
                    WHERE state = 'processing' AND (worker_id IS NULL
                          OR NOT EXISTS (SELECT 1 FROM \(s).workers o WHERE o.id = jobs.worker_id)))
        """
    }

    /// How many columns ``recoveryViewSQL(_:extraColumns:)`` reads before the extra ones.
    static let recoveryViewColumns = 17

    static func recoveryView(_ rows: [PostgresRow], judgingLeases: Bool) throws -> RecoveryView {
        guard let first = rows.first?.makeRandomAccess() else { throw QueueError.runtime("the recovery view read no row") }
        let config = Self.config(keys: try first[14].decode([String].self), values: try first[15].decode([Double].self))
        let limit = Self.leaseLimitMilliseconds(config.leaseTimeoutSeconds)
        var view = RecoveryView(workers: [], expired: [:], orphansMayExist: try first[16].decode(Bool.self))
        for row in rows {
            let columns = row.makeRandomAccess()
            guard let worker = try Self.registeredWorker(columns) else { continue }
            view.workers.append(worker)
            if judgingLeases, try columns[13].decode(Int64.self) > limit {
                view.expired[worker.id] = Double(try columns[12].decode(Int64.self)) / 1000
            }
        }
        return view
    }

    /// Opens the queue at `session` for a command that reads, together with what
    /// its recovery sweep looks at, in one statement: the schema's version rides
    /// along with the recovery view. nil when that cannot be used (no queue there,
    /// a schema of another version whose tables the view may not match): the
    /// caller then opens the usual way on the same session, which reports or
    /// migrates.
    public static func openForReading(_ session: PostgresSession) throws -> (store: PostgresJobStore, view: RecoveryView)? {
        try openWithView(session, extraColumns: "") { _ in () }.map { ($0.store, $0.view) }
    }

    /// ``openForReading(_:)`` for `status`: the job counts come in the same
    /// statement, so its whole answer is there (used when the sweep changes nothing).
    public static func openForStatus(_ session: PostgresSession) throws
        -> (store: PostgresJobStore, view: RecoveryView, counts: JobCounts)? {
        let first = recoveryViewColumns + 1   // after the view's columns and the version
        return try openWithView(session, extraColumns: ", c.states, c.ns", leading: countsTableSQL(session.address.quotedSchema)) { row in
            jobCounts(zip(try row[first].decode([String].self), try row[first + 1].decode([Int].self)))
        }.map { ($0.store, $0.view, $0.extra) }
    }

    /// Opens the queue at `session` for `list`: its first page of `query` and a
    /// ``SweepCheck`` (what tells whether the recovery sweep would release
    /// anything) in one statement with the schema's version, where
    /// ``openForReading(_:)`` and the page take two. nil as for that.
    public static func openForList(_ session: PostgresSession, _ query: JobListQuery, limit: Int) throws
        -> (store: PostgresJobStore, page: JobPage, check: SweepCheck)? {
        let s = session.address.quotedSchema
        var statement = PostgresStatementText()
        let sql = firstPageSQL(query, &statement, limit: limit, alongside: """
            (SELECT \(schemaVersionSQL(s)), \(configArraysSQL(s)), \(orphansMayExistSQL(s)),
                    array_agg(w.host), array_agg(w.pid::BIGINT), array_agg(w.pid_start), array_agg(\(leaseAgeSQL(s)))
             FROM \(s).workers w)
            """)
        let c = firstPageTotalColumn + 1   // the check's first column
        guard let (rows, first) = try readOpening(session, statement.query(sql), versionColumn: c) else { return nil }
        let config = Self.config(keys: try first[c + 1].decode([String].self), values: try first[c + 2].decode([Double].self))
        // One array per column, each in the same order (one aggregate over the
        // workers); NULL when there is none.
        let hosts = try first[c + 4].decode([String]?.self) ?? []
        let pids = try first[c + 5].decode([Int64]?.self) ?? []
        let starts = try first[c + 6].decode([Int64]?.self) ?? []
        let leaseAges = try first[c + 7].decode([Int64]?.self) ?? []
        let limit = leaseLimitMilliseconds(config.leaseTimeoutSeconds)
        let check = SweepCheck(
            workers: zip(hosts, zip(pids, starts)).map { SweepCheck.Worker(hostname: $0, pid: Int($1.0), pidStartTicks: $1.1) },
            anyLeaseExpired: leaseAges.contains { $0 > limit },
            orphansMayExist: try first[c + 3].decode(Bool.self))
        return (try PostgresJobStore(session: session, knownVersion: PostgresSchema.latestVersion), try firstPage(rows), check)
    }

    /// The queue's schema version, as a scalar subquery.
    static func schemaVersionSQL(_ s: String) -> String {
        "(SELECT max(version) FROM \(s).queuectl_migrations)"
    }

    /// The statement of both opens: the recovery view with the schema's version
    /// and `extraColumns` after it (read by `extra` from the first row), joined to
    /// the one-row table `leading`.
    private static func openWithView<Extra>(_ session: PostgresSession, extraColumns: String,
                                            leading: String = "(SELECT 1) AS one",
                                            extra: (PostgresRandomAccessRow) throws -> Extra) throws
        -> (store: PostgresJobStore, view: RecoveryView, extra: Extra)? {
        let s = session.address.quotedSchema
        let sql = recoveryViewSQL(s, extraColumns: ", " + schemaVersionSQL(s) + extraColumns, leading: leading)
        guard let (rows, first) = try readOpening(session, PostgresQuery(unsafeSQL: sql), versionColumn: recoveryViewColumns)
        else { return nil }
        return (try PostgresJobStore(session: session, knownVersion: PostgresSchema.latestVersion),
                try recoveryView(rows, judgingLeases: true), try extra(first))
    }

    /// The rows of an opening statement and its first row, or nil when they
    /// cannot be used: the server refused the statement (no queue there), or the
    /// schema version in `versionColumn` is not this queuectl's. An unreachable
    /// server throws.
    private static func readOpening(_ session: PostgresSession, _ query: PostgresQuery, versionColumn: Int) throws
        -> (rows: [PostgresRow], first: PostgresRandomAccessRow)? {
        let rows: [PostgresRow]
        do {
            rows = try session.read(query)
        } catch is PostgresQueryError {
            return nil
        }
        guard let first = rows.first?.makeRandomAccess(),
              try first[versionColumn].decode(Int?.self) == PostgresSchema.latestVersion else { return nil }
        return (rows, first)
    }
}
