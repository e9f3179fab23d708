import PostgresNIO
import QueueCore

/// The plain reads of `JobReader`: jobs by ids, state, queue, schedule or tag,
/// histories and dependents. Each is one statement, so each sees one snapshot.
extension PostgresJobStore {
    /// The address as people see it (never with a password: an address holds none).
    public var displayAddress: String { address.redacted }

    /// "postgresql 15.18": the server's version (`queuectl version`, the bench),
    /// "postgresql" alone when the server cannot be asked.
    public var engine: String {
        let version = try? session.query("SHOW server_version").first?.decode(String.self)
        // "15.18 (Debian 15.18-0+deb12u1)": the number is what identifies it.
        return ["postgresql", version?.split(separator: " ").first.map(String.init)].compactMap { $0 }.joined(separator: " ")
    }

    /// The jobs found among `ids` (unknown ids are left out), in no set order.
    public func jobs(ids: [String]) throws -> [Job] {
        guard !ids.isEmpty else { return [] }
        return try session.query("SELECT \(unescaped: Job.postgresColumns) FROM jobs WHERE id = ANY(\(ids))")
            .map(Job.init(postgresRow:))
    }

    /// Jobs of one state (or all) in one queue and/or fired by one schedule, oldest
    /// first. A schedule's jobs are found by their `NAME@TICK` ids through the id
    /// index, in tick order.
    public func jobs(state: JobState?, queue: String?, schedule: String?, limit: Int, offset: Int) throws -> [Job] {
        var statement = PostgresStatementText()
        var conditions: [String] = []
        if let state { conditions.append(state.postgresCondition) }
        if let queue { conditions.append("queue = \(statement.bind(queue))") }
        if let schedule {
            // Ids are printable ASCII, all below DEL: the range walks the id index.
            let prefix = statement.bind(schedule + "@")
            conditions.append("id >= \(prefix) AND id < \(statement.bind(schedule + "@\u{7F}")) AND starts_with(id, \(prefix))")
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = """
            SELECT \(Job.postgresColumns) FROM jobs \(whereClause) ORDER BY \(schedule == nil ? "seq" : "id")
            LIMIT \(statement.bind(max(0, limit))) OFFSET \(statement.bind(max(0, offset)))
            """
        return try session.query(statement.query(sql)).map(Job.init(postgresRow:))
    }

    /// Jobs carrying `tag` (of one state, or all), oldest first.
    public func jobs(tagged tag: String, state: JobState?, limit: Int, offset: Int) throws -> [Job] {
        let stateCondition = state.map { "\($0.postgresCondition) AND " } ?? ""
        return try session.query("""
            SELECT \(unescaped: Job.postgresColumns) FROM jobs
            WHERE \(unescaped: stateCondition)tags IS NOT NULL AND \(tag) = ANY(tags)
            ORDER BY seq LIMIT \(max(0, limit)) OFFSET \(max(0, offset))
            """).map(Job.init(postgresRow:))
    }

    /// Job ids starting with `prefix`, for shell completion: at most `limit`, in id
    /// order (or, for one state, in the order the jobs were enqueued). The prefix
    /// is a range on the id index (`prefix ≤ id < prefix + U+10FFFF`), so the cost
    /// does not grow with the table; `starts_with` keeps the answer exact under any
    /// collation.
    public func jobIDs(startingWith prefix: String, state: JobState?, limit: Int) throws -> [String] {
        let upper = prefix + "\u{10FFFF}"
        let stateCondition = state.map { "\($0.postgresCondition) AND " } ?? ""
        return try session.query("""
            SELECT id FROM jobs
            WHERE \(unescaped: stateCondition)id >= \(prefix) AND id < \(upper) AND starts_with(id, \(prefix))
            ORDER BY \(unescaped: state == nil ? "id" : "seq") LIMIT \(max(0, limit))
            """).map { try $0.decode(String.self) }
    }

    /// A job's runs in order, numbered from 1 for its whole life (``RunRecord/number``):
    /// only a run that never started is ever removed from a history, and it is
    /// always the latest, so the numbers never shift.
    public func runs(jobID: String) throws -> [RunRecord] {
        try session.query("SELECT \(unescaped: RunRecord.postgresColumns) FROM runs WHERE job_id = \(jobID) ORDER BY id")
            .enumerated().map { index, row in try RunRecord(postgresRow: row, number: index + 1) }
    }

    /// The id of a job's run number `number` (see ``RunRecord/number``); its latest
    /// run if nil.
    public func runID(jobID: String, number: Int?) throws -> Int64? {
        if let number {
            guard number >= 1 else { return nil }
            return try session.query("""
                SELECT id FROM runs WHERE job_id = \(jobID) ORDER BY id LIMIT 1 OFFSET \(number - 1)
                """).first?.decode(Int64.self)
        }
        return try session.query("SELECT max(id) FROM runs WHERE job_id = \(jobID)").first?.decode(Int64?.self)
    }

    /// Whether a run is still going on (false for an unknown run).
    public func runIsActive(runID: Int64) throws -> Bool {
        try session.query("SELECT finished_at IS NULL FROM runs WHERE id = \(runID)").first?.decode(Bool.self) ?? false
    }

    /// Jobs that depend on `jobID`, oldest first.
    public func dependents(of jobID: String, limit: Int) throws -> [Job] {
        try session.query("""
            SELECT \(unescaped: Job.postgresColumns) FROM jobs
            WHERE id IN (SELECT job_id FROM job_dependencies WHERE depends_on = \(jobID))
            ORDER BY seq LIMIT \(max(0, limit))
            """).map(Job.init(postgresRow:))
    }

    /// How many jobs depend on `jobID`.
    public func dependentCount(of jobID: String) throws -> Int {
        try session.query("SELECT count(*) FROM job_dependencies WHERE depends_on = \(jobID)").first?.decode(Int.self) ?? 0
    }

    /// The earliest `run_at` among jobs waiting for a time (the first entry of
    /// `jobs_due`) or the next tick of a schedule, so an idle worker knows when to
    /// look again. nil: nothing waits for a time.
    public func nextRunAt() throws -> Timestamp? {
        try session.query("""
            SELECT least(
                (SELECT run_at FROM jobs WHERE state IN ('scheduled', 'failed') ORDER BY run_at LIMIT 1),
                (SELECT next_at FROM schedules WHERE NOT paused ORDER BY next_at LIMIT 1))
            """).first?.decode(Int64?.self).map(Timestamp.init(milliseconds:))
    }

    /// When the latest run ended (`runs_finished` answers with one seek): the bench
    /// times a drain to this instead of to the moment its polling noticed.
    public func lastRunFinishedAt() throws -> Timestamp? {
        try session.query("SELECT max(finished_at) FROM runs").first?.decode(Int64?.self).map(Timestamp.init(milliseconds:))
    }
}

extension JobState {
    /// The WHERE term for jobs in this state, with the state as a literal (a fixed
    /// set of words) so the planner can match the partial indexes on `state`.
    var postgresCondition: String { "state = '\(rawValue)'" }
}
