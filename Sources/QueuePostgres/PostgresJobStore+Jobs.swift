import PostgresNIO
import QueueCore

extension PostgresJobStore {
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
    /// already queued under its `unique_key` (marked duplicate). Memory stays that
    /// of one batch, whatever the total; `total`, when known, only words errors.
    /// Returns the number of jobs inserted. Idle workers are woken at commit (by
    /// trigger, when any job is due).
    ///
    /// The stream cannot be read twice, so this transaction is not run again on a
    /// serialization failure; plain inserts do not meet one.
    public func enqueue(batches nextBatch: () throws -> [JobSpec]?, total: Int? = nil, now: Timestamp,
                        enqueued: (EnqueuedJob) throws -> Void) throws -> Int {
        let count = try session.transaction(retryingConflicts: false) {
            let config = try Self.loadConfig(session)
            var count = 0
            while let specs = try nextBatch() {
                for job in try insertJobs(specs, config: config, now: now, numbering: (first: count, total: total)) {
                    try enqueued(job)
                }
                count += specs.count
            }
            return count
        }
        if count >= Self.analyzeAfterLoad { analyzeIfLoadOutgrewStatistics(count) }
        return count
    }

    /// Jobs one enqueue must add before it may bring the table's statistics up to date.
    static let analyzeAfterLoad = 1_000

    /// Analyzes `jobs`' state and queue when the `count` jobs just added are a
    /// tenth or more of what the statistics last saw (or the table was never
    /// analyzed). Until autovacuum's next pass the planner believes the table holds
    /// what it held before, and may read and sort every pending job to show the
    /// first 50 (`list --state pending` on a freshly loaded backlog of 10,000 took
    /// 10 ms on the server instead of 0.3).
    ///
    /// Quick, because it runs inside the enqueue command: two columns from a sample
    /// of 3,000 rows (statistics target 10; a state or a queue is one of few
    /// values), about 13 ms beside 100,000 new jobs where a whole `ANALYZE` takes
    /// 90. Naming columns leaves autovacuum's own count of changes as it was, so
    /// its full ANALYZE still comes. Skips a table another ANALYZE or VACUUM holds
    /// rather than wait; a failure changes nothing already committed, so it is
    /// not reported.
    private func analyzeIfLoadOutgrewStatistics(_ count: Int) {
        _ = try? session.execute("""
            DO $$BEGIN
                IF (SELECT reltuples FROM pg_class WHERE oid = 'jobs'::regclass) < \(unescaped: String(count * 10)) THEN
                    SET LOCAL default_statistics_target = 10;
                    ANALYZE (SKIP_LOCKED) jobs (state, queue);
                END IF;
            END$$
            """)
    }

    /// Most jobs one INSERT carries: a statement's arrays stay a few MB.
    static let insertChunk = 5_000

    /// Enqueue's work inside a transaction. Plain jobs go in as arrays, one
    /// statement per ``insertChunk`` jobs (`INSERT … SELECT … FROM unnest(…)`);
    /// a job using job control (unique key, dependencies, tags, options) goes in
    /// alone, after the plain jobs before it, so it can depend on them.
    /// `numbering` places `specs` in a longer stream for error messages.
    func insertJobs(_ specs: [JobSpec], config: QueueConfig, now: Timestamp,
                    numbering: (first: Int, total: Int?)) throws -> [EnqueuedJob] {
        var result: [EnqueuedJob] = []
        result.reserveCapacity(specs.count)
        var plain = PlainJobRows()
        var queues = Set<String>()
        func position(_ index: Int) -> String {
            let number = numbering.first + index + 1
            return numbering.total.map { $0 > 1 ? " (job \(number) of \($0))" : "" } ?? " (job \(number))"
        }
        func flush() throws {
            guard !plain.isEmpty else { return }
            do {
                try plain.insert(session)
            } catch let error as PostgresQueryError where error.sqlState == PostgresQueryError.uniqueViolation && error.constraint == "jobs_id_key" {
                let id = Self.duplicateKey(error) ?? ""
                // The later of two specs with one id is the one refused.
                let index = result.lastIndex { $0.job.id == id && !$0.duplicate } ?? 0
                throw QueueError.invalidInput("a job with id '\(id)' already exists\(position(index)); nothing was enqueued")
            }
            plain = PlainJobRows()
        }
        for (index, spec) in specs.enumerated() {
            let runAt = spec.eligibleAt(now: now)
            // Work that is not due waits outside the claim's index (see JobState).
            var job = Job(
                id: spec.id ?? JobID.generate(at: now), command: spec.command, state: runAt > now ? .scheduled : .pending,
                maxRetries: spec.maxRetries ?? config.maxRetries, priority: spec.priority, runAt: runAt,
                timeout: spec.timeout, createdAt: now, updatedAt: now, queue: spec.queue)
            queues.insert(spec.queue)
            if spec.usesJobControl {
                try flush()
                if let existing = try insertControlled(&job, spec: spec, position: position(index)) {
                    result.append(EnqueuedJob(job: existing, duplicate: true))
                    continue
                }
                result.append(EnqueuedJob(job: job, duplicate: false))
            } else {
                plain.append(job)
                result.append(EnqueuedJob(job: job, duplicate: false))
                if plain.count >= Self.insertChunk { try flush() }
            }
        }
        try flush()
        try session.execute("INSERT INTO queues (name) SELECT unnest(\(Array(queues))::TEXT[]) ON CONFLICT (name) DO NOTHING")
        return result
    }

    /// Inserts a job that uses job-control fields, or returns the job already
    /// queued under its `unique_key` (then nothing is written).
    ///
    /// Uniqueness window: among jobs that are not final (an index enforces it, so
    /// two hosts enqueuing the same key at once get one job). Each dependency's row
    /// is read `FOR SHARE`: a dependency finishing on another host at the same
    /// moment waits for this insert (or this insert for it), so its end always
    /// sees the new edge, or the new job sees its end.
    private func insertControlled(_ job: inout Job, spec: JobSpec, position: String) throws -> Job? {
        if let key = spec.uniqueKey, let holder = try uniqueKeyHolder(key) { return holder }
        var dependencies: [(id: String, state: JobState)] = []
        for id in spec.dependsOn {
            guard let row = try session.query("SELECT state FROM jobs WHERE id = \(id) FOR SHARE").first,
                  let state = JobState(rawValue: try row.decode(String.self)) else {
                throw QueueError.unknownDependency(id, position: position)
            }
            dependencies.append((id, state))
        }
        job.applyControl(of: spec, dependencies: dependencies)
        let tags: [String]? = job.tags.isEmpty ? nil : job.tags
        let dependsOn: [String]? = job.dependsOn.isEmpty ? nil : job.dependsOn
        let inserted: Int
        do {
            inserted = try session.execute("""
                INSERT INTO jobs (id, command, state, attempts, max_retries, priority, run_at, timeout, created_at, updated_at,
                                  queue, last_error, options, tags, unique_key, depends_on, requeued_from)
                VALUES (\(job.id), \(job.command), \(job.state.rawValue), 0, \(job.maxRetries), \(job.priority),
                        \(job.runAt.milliseconds), \(job.timeout), \(job.createdAt.milliseconds), \(job.updatedAt.milliseconds),
                        \(job.queue), \(job.lastError), \(job.options.storedText), \(tags), \(job.uniqueKey), \(dependsOn),
                        \(job.requeuedFrom))
                ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state NOT IN ('completed', 'dead', 'cancelled')
                DO NOTHING
                """)
        } catch let error as PostgresQueryError where error.sqlState == PostgresQueryError.uniqueViolation && error.constraint == "jobs_id_key" {
            throw QueueError.invalidInput("a job with id '\(job.id)' already exists\(position); nothing was enqueued")
        }
        if inserted == 0, let key = job.uniqueKey, let holder = try uniqueKeyHolder(key) {
            return holder   // another host queued the key meanwhile
        }
        if !spec.dependsOn.isEmpty {
            try session.execute("""
                INSERT INTO job_dependencies (depends_on, job_id) SELECT unnest(\(spec.dependsOn)::TEXT[]), \(job.id)
                ON CONFLICT DO NOTHING
                """)
        }
        if job.state == .cancelled {
            try Self.recordEvent(session, "cancelled", jobID: job.id, detail: job.lastError, now: job.createdAt)
        }
        return nil
    }

    /// The job that is not final and holds `key`, if any.
    private func uniqueKeyHolder(_ key: String) throws -> Job? {
        try session.query("""
            SELECT \(unescaped: Job.postgresColumns) FROM jobs
            WHERE unique_key = \(key) AND state NOT IN ('completed', 'dead', 'cancelled') LIMIT 1
            """).first.map(Job.init(postgresRow:))
    }

    /// The key value of a unique violation, from the server's detail
    /// (`Key (id)=(abc) already exists.`).
    static func duplicateKey(_ error: PostgresQueryError) -> String? {
        guard let detail = error.detail, let open = detail.range(of: ")=("),
              let close = detail.range(of: ") already exists", options: .backwards), open.upperBound <= close.lowerBound else {
            return nil
        }
        return String(detail[open.upperBound..<close.lowerBound])
    }

    public func job(id: String) throws -> Job {
        try Self.fetchJob(session, id: id)
    }

    static func fetchJob(_ session: PostgresSession, id: String) throws -> Job {
        guard let row = try session.query("SELECT \(unescaped: Job.postgresColumns) FROM jobs WHERE id = \(id)").first else {
            throw QueueError.notFound("no job with id \(SafeText.quoted(id))")
        }
        return try Job(postgresRow: row)
    }

    /// Jobs of one state (or all), oldest first. Every state but `completed` is
    /// read through `jobs_state`; completed jobs, most of the table, in `seq`
    /// order from the primary key. (The state is written into the statement so the
    /// planner can match the partial index's condition.)
    public func jobs(state: JobState?, limit: Int, offset: Int = 0) throws -> [Job] {
        let condition = state.map { "WHERE state = '\($0.rawValue)'" } ?? ""
        return try session.query("""
            SELECT \(unescaped: Job.postgresColumns) FROM jobs \(unescaped: condition) ORDER BY seq LIMIT \(limit) OFFSET \(offset)
            """).map(Job.init(postgresRow:))
    }

    /// Jobs per state, summed from the sharded counts (a few hundred rows at most,
    /// whatever the number of jobs).
    public func counts() throws -> JobCounts {
        try Self.jobCounts(session.query("SELECT state, sum(n)::BIGINT FROM job_counts GROUP BY state")
            .map { try $0.decode((String, Int).self) })
    }

    /// Counts by state name, every state present (zeros included, as `status
    /// --json` promises).
    static func jobCounts(_ pairs: some Sequence<(String, Int)>) -> JobCounts {
        var counts = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0, 0) })
        for (name, n) in pairs {
            if let state = JobState(rawValue: name) { counts[state] = n }
        }
        return JobCounts(counts: counts)
    }
}

/// Plain jobs gathered column by column for one `INSERT … FROM unnest(…)`: ten
/// arrays bound as parameters, whatever the number of jobs.
struct PlainJobRows {
    private var ids: [String] = [], commands: [String] = [], states: [String] = [], maxRetries: [Int64] = []
    private var priorities: [Int64] = [], runAts: [Int64] = [], timeouts: [Double] = [], createdAts: [Int64] = []
    private var updatedAts: [Int64] = [], queues: [String] = []

    var count: Int { ids.count }
    var isEmpty: Bool { ids.isEmpty }

    mutating func append(_ job: Job) {
        ids.append(job.id)
        commands.append(job.command)
        states.append(job.state.rawValue)
        maxRetries.append(Int64(job.maxRetries))
        priorities.append(Int64(job.priority))
        runAts.append(job.runAt.milliseconds)
        // NaN stands for "no timeout" (an array of floats cannot hold NULL here).
        timeouts.append(job.timeout ?? .nan)
        createdAts.append(job.createdAt.milliseconds)
        updatedAts.append(job.updatedAt.milliseconds)
        queues.append(job.queue)
    }

    /// Inserts the rows in order (their `seq` follows the order of the arrays).
    func insert(_ session: PostgresSession) throws {
        try session.execute("""
            INSERT INTO jobs (id, command, state, max_retries, priority, run_at, timeout, created_at, updated_at, queue)
            SELECT id, command, state, max_retries, priority, run_at, NULLIF(timeout, 'NaN'), created_at, updated_at, queue
            FROM unnest(\(ids)::TEXT[], \(commands)::TEXT[], \(states)::TEXT[], \(maxRetries)::BIGINT[], \(priorities)::BIGINT[],
                        \(runAts)::BIGINT[], \(timeouts)::FLOAT8[], \(createdAts)::BIGINT[], \(updatedAts)::BIGINT[], \(queues)::TEXT[])
                AS u(id, command, state, max_retries, priority, run_at, timeout, created_at, updated_at, queue)
            """)
    }
}
