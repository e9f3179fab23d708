import QueueCore
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
        var jobs: [EnqueuedJob] = []
        jobs.reserveCapacity(specs.count)
        var batch: [JobSpec]? = specs
        _ = try enqueue(batches: { defer { batch = nil }; return batch }, total: specs.count, now: now) { jobs.append($0) }
        return jobs
    }

    /// Inserts the jobs `nextBatch` hands out, batch after batch until it returns
    /// nil, in one transaction: all of them or, if it or an insert throws, none.
    /// `enqueued` sees each job as it is inserted (not yet committed), or the job
    /// already queued under its `unique_key` (marked duplicate). Memory stays
    /// that of one batch, whatever the total; `total`, when known, only words errors.
    /// Returns the number of jobs inserted.
    public func enqueue(batches nextBatch: () throws -> [JobSpec]?, total: Int? = nil, now: Timestamp,
                        enqueued: (EnqueuedJob) throws -> Void) throws -> Int {
        defer { Doorbell.ring(location) }
        return try write { db in
            let config = try Self.loadConfig(db)
            var count = 0
            var cacheGrown = false
            while let specs = try nextBatch() {
                if !cacheGrown, count + specs.count > Self.bigBatch {
                    // A big batch in one transaction spills SQLite's 2 MB page cache into
                    // the WAL again and again; a bigger one spills less. Past 16 MB the
                    // time hardly changes (400,000 jobs: 1.6 s of CPU at 16 MB, 1.9 s at
                    // 256 MB) but the memory does (48 MB peak vs 126 MB).
                    try db.execute(sql: "PRAGMA cache_size = -\(Self.bigBatchCacheKiB)")
                    cacheGrown = true
                }
                for job in try Self.insertJobsReportingDuplicates(db, specs, config: config, now: now,
                                                                   numbering: (first: count, total: total)) {
                    try enqueued(job)
                }
                count += specs.count
            }
            return count
        }
    }

    /// Past this many jobs in one transaction the page cache grows to
    /// ``bigBatchCacheKiB``.
    static let bigBatch = 1000
    static let bigBatchCacheKiB = 16_384

    /// Enqueue's work inside a transaction (schedules fire through it too).
    static func insertJobs(_ db: Database, _ specs: [JobSpec], config: QueueConfig, now: Timestamp) throws -> [Job] {
        try insertJobsReportingDuplicates(db, specs, config: config, now: now).map(\.job)
    }

    /// `numbering` places `specs` in a longer stream for error messages (`first`
    /// jobs before it, `total` in all when known); nil: `specs` is all there is.
    static func insertJobsReportingDuplicates(_ db: Database, _ specs: [JobSpec], config: QueueConfig, now: Timestamp,
                                              numbering: (first: Int, total: Int?)? = nil) throws -> [EnqueuedJob] {
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
            // Where the job sits in the input, for error messages (worded only when needed).
            func position() -> String {
                let number = (numbering?.first ?? 0) + index + 1
                let total = numbering.map { $0.total } ?? specs.count
                return total.map { $0 > 1 ? " (job \(number) of \($0))" : "" } ?? " (job \(number))"
            }
            do {
                if spec.usesJobControl {
                    if let existing = try Self.insertControlled(&job, spec: spec, in: db, position: position()) {
                        jobs.append(EnqueuedJob(job: existing, duplicate: true))
                        continue
                    }
                } else {
                    try Self.insert(job, with: insert, in: db)
                }
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw QueueError.invalidInput("a job with id '\(job.id)' already exists\(position()); nothing was enqueued")
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
            throw QueueError.notFound("no job with id \(SafeText.quoted(id))")
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

    /// A job's runs in order, numbered from 1 for its whole life (``RunRecord/number``).
    /// Only a run that never started is ever removed from a history, and it is
    /// always the latest (see `giveBack`), so the numbers never shift.
    public func runs(jobID: String) throws -> [RunRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT \(RunRecord.columns) FROM runs WHERE job_id = ? ORDER BY id", arguments: [jobID])
                .enumerated().map { index, row in
                    var run = RunRecord(row: row)
                    run.number = index + 1
                    return run
                }
        }
    }

    /// The id of a job's run number `number` (see ``RunRecord/number``); its latest
    /// run if nil.
    public func runID(jobID: String, number: Int?) throws -> Int64? {
        try read { db in
            if let number {
                guard number >= 1 else { return nil }
                return try Int64.fetchOne(db, sql: "SELECT id FROM runs WHERE job_id = ? ORDER BY id LIMIT 1 OFFSET ?",
                                          arguments: [jobID, number - 1])
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
