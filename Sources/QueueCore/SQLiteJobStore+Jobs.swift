import Foundation
import GRDB
import GRDBSQLite

extension SQLiteJobStore {
    /// Inserts every spec in one transaction: all of them or, on any error, none.
    /// A duplicate id is an error and never overwrites the existing job. A spec
    /// whose `unique_key` is held by a job that is not final is not inserted: that
    /// job is returned in its place (see ``enqueueReportingDuplicates(_:now:)``).
    public func enqueue(_ specs: [JobSpec], now: Timestamp) throws -> [Job] {
        try enqueueReportingDuplicates(specs, now: now).map(\.job)
    }

    /// Like ``enqueue(_:now:)``, telling which specs were duplicates of a job
    /// already queued under the same `unique_key`.
    public func enqueueReportingDuplicates(_ specs: [JobSpec], now: Timestamp) throws -> [EnqueuedJob] {
        guard !specs.isEmpty else { return [] }
        defer { Doorbell.ring(location) }
        if specs.count > 1000 {
            // A big batch in one transaction would spill SQLite's 2 MB page cache into
            // the WAL again and again; let it grow (it is freed with the connection).
            try? dbQueue.inDatabase { try $0.execute(sql: "PRAGMA cache_size = -262144") }
        }
        return try write { db in try Self.insertJobsReportingDuplicates(db, specs, config: try Self.loadConfig(db), now: now) }
    }

    /// Enqueue's work inside a transaction (schedules fire through it too).
    static func insertJobs(_ db: Database, _ specs: [JobSpec], config: QueueConfig, now: Timestamp) throws -> [Job] {
        try insertJobsReportingDuplicates(db, specs, config: config, now: now).map(\.job)
    }

    static func insertJobsReportingDuplicates(_ db: Database, _ specs: [JobSpec], config: QueueConfig,
                                              now: Timestamp) throws -> [EnqueuedJob] {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO jobs (id, command, state, attempts, max_retries, priority, run_at, timeout, created_at, updated_at, queue)
            VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)
            """)
        var jobs: [EnqueuedJob] = []
        jobs.reserveCapacity(specs.count)
        // Jobs added per queue and state, stored once per batch.
        var added: [String: [JobState: Int]] = [:]
        for (index, spec) in specs.enumerated() {
            let runAt = spec.eligibleAt(now: now)
            // Work that is not due waits outside the claim's index (see JobState).
            let state: JobState = runAt > now ? .scheduled : .pending
            var job = Job(
                id: spec.id ?? JobID.generate(at: now), command: spec.command, state: state,
                maxRetries: spec.maxRetries ?? config.maxRetries,
                priority: spec.priority, runAt: runAt, timeout: spec.timeout,
                createdAt: now, updatedAt: now, queue: spec.queue)
            let position = specs.count > 1 ? " (job \(index + 1) of \(specs.count))" : ""
            do {
                if spec.usesJobControl {
                    if let existing = try Self.insertControlled(&job, spec: spec, in: db, position: position) {
                        jobs.append(EnqueuedJob(job: existing, duplicate: true))
                        continue
                    }
                } else {
                    try Self.insert(job, with: insert, in: db)
                }
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw QueueError.invalidInput("a job with id '\(job.id)' already exists\(position); nothing was enqueued")
            }
            added[spec.queue, default: [:]][job.state, default: 0] += 1
            jobs.append(EnqueuedJob(job: job, duplicate: false))
        }
        for (queue, states) in added {
            try Self.registerQueue(db, queue)
            for (state, n) in states { try Self.addToCount(db, queue: queue, state: state, n) }
        }
        return jobs
    }

    /// Runs the prepared INSERT for one job through SQLite's C API. GRDB's
    /// `StatementArguments` box every value on the way in, which cost about as much
    /// as SQLite's own work per row of a big batch. The strings are bound without a
    /// copy (`SQLITE_STATIC`): they stay valid until the statement is reset, before
    /// `withCString` returns.
    private static func insert(_ job: Job, with statement: Statement, in db: Database) throws {
        let handle = statement.sqliteStatement
        let connection = db.sqliteConnection
        let failure: DatabaseError? = job.id.withCString { id in
            job.command.withCString { command in job.queue.withCString { queue in
                sqlite3_bind_text(handle, 1, id, -1, nil)
                sqlite3_bind_text(handle, 2, command, -1, nil)
                // A static string: no copy needed.
                sqlite3_bind_text(handle, 3, job.state == .scheduled ? Self.scheduledText : Self.pendingText, -1, nil)
                sqlite3_bind_int64(handle, 4, Int64(job.maxRetries))
                sqlite3_bind_int64(handle, 5, Int64(job.priority))
                sqlite3_bind_int64(handle, 6, job.runAt.milliseconds)
                if let timeout = job.timeout { sqlite3_bind_double(handle, 7, timeout) } else { sqlite3_bind_null(handle, 7) }
                sqlite3_bind_int64(handle, 8, job.createdAt.milliseconds)
                sqlite3_bind_int64(handle, 9, job.updatedAt.milliseconds)
                sqlite3_bind_text(handle, 10, queue, -1, nil)
                var failure: DatabaseError?
                if sqlite3_step(handle) != SQLITE_DONE {
                    failure = DatabaseError(resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)),
                                            message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
                }
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
                return failure
            } }
        }
        if let failure { throw failure }
    }

    /// The two states a job is enqueued in, as C strings that live for the process.
    nonisolated(unsafe) private static let pendingText = UnsafePointer<CChar>(strdup(JobState.pending.rawValue)!)
    nonisolated(unsafe) private static let scheduledText = UnsafePointer<CChar>(strdup(JobState.scheduled.rawValue)!)

    public func job(id: String) throws -> Job {
        try read { db in try Self.fetchJob(db, id: id) }
    }

    static func fetchJob(_ db: Database, id: String) throws -> Job {
        guard let row = try Row.fetchOne(db, sql: "SELECT \(Job.columns) FROM jobs WHERE id = ?", arguments: [id]) else {
            throw QueueError.notFound("no job with id '\(id)'")
        }
        return try Job(row: row)
    }

    /// Jobs of one state (or all), oldest first.
    public func jobs(state: JobState?, limit: Int, offset: Int = 0) throws -> [Job] {
        try read { db in
            let rows: [Row]
            if let state {
                rows = try Row.fetchAll(db, sql: "SELECT \(Job.columns) FROM jobs WHERE \(state.selectionCondition()) ORDER BY seq LIMIT ? OFFSET ?",
                                        arguments: [limit, offset])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT \(Job.columns) FROM jobs ORDER BY seq LIMIT ? OFFSET ?", arguments: [limit, offset])
            }
            return try rows.map(Job.init(row:))
        }
    }

    public func counts() throws -> JobCounts {
        try read { db in
            var counts: [JobState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, n FROM job_counts") {
                if let state = JobState(rawValue: row[0]) { counts[state] = row[1] }
            }
            return JobCounts(counts: counts)
        }
    }

    public func runs(jobID: String) throws -> [RunRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT \(RunRecord.columns) FROM runs WHERE job_id = ? ORDER BY id", arguments: [jobID])
                .map(RunRecord.init(row:))
        }
    }

    /// The id of a job's latest run with the given attempt number (latest run if nil).
    public func runID(jobID: String, attempt: Int?) throws -> Int64? {
        try read { db in
            if let attempt {
                return try Int64.fetchOne(db, sql: "SELECT max(id) FROM runs WHERE job_id = ? AND attempt = ?", arguments: [jobID, attempt])
            }
            return try Int64.fetchOne(db, sql: "SELECT max(id) FROM runs WHERE job_id = ?", arguments: [jobID])
        }
    }

    /// Whether a run is still going on.
    public func runIsActive(runID: Int64) throws -> Bool {
        try read { db in
            try Bool.fetchOne(db, sql: "SELECT finished_at IS NULL FROM runs WHERE id = ?", arguments: [runID]) ?? false
        }
    }

    /// Moves dead jobs back to `pending` with `attempts` reset. Every id must name a
    /// dead job, or nothing changes.
    public func retryDead(ids: [String], now: Timestamp) throws -> [Job] {
        defer { Doorbell.ring(location) }
        return try write { db in
            var jobs: [Job] = []
            var seen = Set<String>()
            for id in ids where seen.insert(id).inserted {
                let job = try Self.fetchJob(db, id: id)
                guard job.state == .dead else {
                    throw QueueError.invalidInput("job '\(id)' is \(job.state.rawValue), not dead; nothing was retried")
                }
                try db.execute(sql: """
                    UPDATE jobs SET state = 'pending', attempts = 0, run_at = ?, updated_at = ?, worker_id = NULL
                    WHERE id = ? AND state = 'dead'
                    """, arguments: [now.milliseconds, now.milliseconds, id])
                try Self.recordEvent(db, "retried", jobID: id, detail: "dlq retry", now: now)
                jobs.append(try Self.fetchJob(db, id: id))
            }
            return jobs
        }
    }
}
