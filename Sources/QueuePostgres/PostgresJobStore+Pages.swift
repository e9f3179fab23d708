import PostgresNIO
import QueueCore

/// How a job list (`JobListQuery`) becomes SQL on PostgreSQL: the WHERE clause
/// and the ORDER BY, the same lists in the same order as the SQLite store's.
extension JobListQuery {
    /// The queue a `queue:NAME` filter names (nil for a text filter or none).
    var queueFilter: String? {
        filter.hasPrefix(Self.queuePrefix) ? String(filter.dropFirst(Self.queuePrefix.count)) : nil
    }

    /// The WHERE terms of the list, values bound into `statement`.
    func postgresConditions(_ statement: inout PostgresStatementText) -> [String] {
        var conditions: [String] = []
        if let state { conditions.append(state.postgresCondition) }
        if let queue = queueFilter {
            conditions.append("queue = \(statement.bind(queue))")
        } else if !filter.isEmpty {
            // Case-insensitive containment in the id or command (and the last error).
            let needle = statement.bind(filter.lowercased())
            var fields = ["id", "command"]
            if matchErrors { fields.append("last_error") }
            conditions.append("(" + fields.map { "strpos(lower(coalesce(\($0), '')), \(needle)) > 0" }
                .joined(separator: " OR ") + ")")
        }
        return conditions
    }

    func postgresOrder(reversed: Bool) -> String {
        if usesClaimOrder {
            return reversed ? "ORDER BY priority ASC, run_at DESC, seq DESC" : "ORDER BY priority DESC, run_at, seq"
        }
        switch order {
        case .oldest: return reversed ? "ORDER BY seq DESC" : "ORDER BY seq ASC"
        case .recentlyChanged: return reversed ? "ORDER BY updated_at ASC, seq ASC" : "ORDER BY updated_at DESC, seq DESC"
        case .newest, .claim: return reversed ? "ORDER BY seq ASC" : "ORDER BY seq DESC"
        }
    }
}

/// The paged, filtered reads of the console and the dashboard. Each fetches only
/// the rows on screen, so they stay fast with millions of jobs.
extension PostgresJobStore {
    /// Up to `limit` jobs of `query` starting at position `offset`, and how many
    /// jobs the list holds in all, both from one snapshot.
    public func jobPage(_ query: JobListQuery, limit: Int, offset: Int) throws -> JobPage {
        if offset <= 0, limit > 0 { return try firstPage(query, limit: limit) }
        return try readSnapshot {
            let total = try listTotal(query)
            let offset = max(0, offset)
            let limit = max(0, min(limit, total - offset))
            guard limit > 0 else { return JobPage(jobs: [], total: total, offset: offset) }
            // OFFSET walks the rows it skips: past the middle, walk from the other end
            // (the last page of a million jobs is as quick as the first).
            let reversed = offset > total / 2
            let skip = reversed ? total - offset - limit : offset
            var statement = PostgresStatementText()
            let sql = Self.pageSQL(query, &statement, limit: limit, skip: skip, reversed: reversed)
            let jobs = try session.query(statement.query(sql)).map(Job.init(postgresRow:))
            return JobPage(jobs: reversed ? jobs.reversed() : jobs, total: total, offset: offset)
        }
    }

    /// The first page (what `list` and every first screen show) and the list's
    /// total in one statement: one snapshot without a transaction, one round trip
    /// instead of four (`BEGIN`, the total, the page, `COMMIT`). With no job on the
    /// page, one row of NULL job columns carries the total.
    private func firstPage(_ query: JobListQuery, limit: Int) throws -> JobPage {
        var statement = PostgresStatementText()
        let sql = Self.firstPageSQL(query, &statement, limit: limit)
        return try Self.firstPage(try session.read(statement.query(sql)))
    }

    /// The statement of ``firstPage(_:limit:)``; the columns of the one-row table
    /// `alongside` (if any) follow the total.
    static func firstPageSQL(_ query: JobListQuery, _ statement: inout PostgresStatementText, limit: Int,
                      alongside: String? = nil) -> String {
        let total = Self.listTotalSQL(query, &statement)
        let page = Self.pageSQL(query, &statement, limit: limit, skip: 0, reversed: false, withSeq: true)
        // The page's rows in the page's order (the join alone does not promise it).
        return """
            SELECT p.*, t.total\(alongside == nil ? "" : ", a.*") FROM (\(total)) AS t(total)
            \(alongside.map { "CROSS JOIN \($0) AS a" } ?? "")
            LEFT JOIN LATERAL (\(page)) AS p ON TRUE
            \(query.postgresOrder(reversed: false))
            """
    }

    /// Column of ``firstPageSQL(_:_:limit:alongside:)``'s total: after the job's
    /// columns and its `seq`.
    static let firstPageTotalColumn = Job.postgresColumnCount + 1

    /// The page that ``firstPageSQL(_:_:limit:alongside:)`` read.
    static func firstPage(_ rows: [PostgresRow]) throws -> JobPage {
        guard let first = rows.first?.makeRandomAccess() else { throw QueueError.runtime("the list read returned no row") }
        let count = try first[firstPageTotalColumn].decode(Int.self)
        let jobs = try first[0].decode(String?.self) == nil ? [] : try rows.map(Job.init(postgresRow:))
        return JobPage(jobs: jobs, total: count, offset: 0)
    }

    /// The SQL of one page of `query`: `limit` jobs after `skip`, in the list's order
    /// or (`reversed`) from its other end; `withSeq` adds each job's `seq` after its
    /// columns (for ordering the page again outside).
    private static func pageSQL(_ query: JobListQuery, _ statement: inout PostgresStatementText, limit: Int, skip: Int,
                         reversed: Bool, withSeq: Bool = false) -> String {
        let conditions = query.postgresConditions(&statement)
        let order = query.postgresOrder(reversed: reversed)
        let columns = Job.postgresColumns + (withSeq ? ", seq" : "")
        if query.usesClaimOrder && query.queueFilter == nil {
            // `jobs_ready` is ordered within each queue (queue is its first
            // column): read the first `skip + limit` of every queue that has
            // pending jobs through it, then merge, instead of sorting every
            // pending job.
            let perQueue = statement.bind(skip + limit)
            return """
                SELECT \(columns) FROM (
                    SELECT queue AS name FROM job_counts WHERE state = 'pending' GROUP BY queue HAVING sum(n) > 0
                ) AS q CROSS JOIN LATERAL (
                    SELECT \(Job.postgresColumns), seq FROM jobs
                    WHERE \((conditions + ["queue = q.name"]).joined(separator: " AND "))
                    \(order) LIMIT \(perQueue)
                ) AS j
                \(order) LIMIT \(statement.bind(limit)) OFFSET \(statement.bind(skip))
                """
        }
        return """
            SELECT \(columns) FROM jobs \(Self.whereClause(conditions))
            \(order) LIMIT \(statement.bind(limit)) OFFSET \(statement.bind(skip))
            """
    }

    /// Position of job `id` in the list of `query` (0 is the top), or nil when the
    /// job is not in that list (any more).
    public func jobPosition(id: String, in query: JobListQuery) throws -> Int? {
        try readSnapshot {
            var statement = PostgresStatementText()
            let conditions = query.postgresConditions(&statement)
            let idCondition = "id = \(statement.bind(id))"
            guard let row = try session.query(statement.query("""
                SELECT seq, priority, run_at, updated_at FROM jobs \(Self.whereClause(conditions + [idCondition]))
                """)).first else { return nil }
            let (seq, priority, runAt, updatedAt) = try row.decode((Int64, Int, Int64, Int64).self)
            var counting = PostgresStatementText()
            var before = query.postgresConditions(&counting)
            if query.usesClaimOrder {
                let p = counting.bind(priority), r = counting.bind(runAt), s = counting.bind(seq)
                before.append("(priority > \(p) OR (priority = \(p) AND (run_at < \(r) OR (run_at = \(r) AND seq < \(s)))))")
            } else if query.order == .oldest {
                before.append("seq < \(counting.bind(seq))")
            } else if query.order == .recentlyChanged {
                let u = counting.bind(updatedAt)
                before.append("(updated_at > \(u) OR (updated_at = \(u) AND seq > \(counting.bind(seq))))")
            } else {
                before.append("seq > \(counting.bind(seq))")
            }
            return try session.query(counting.query("SELECT count(*) FROM jobs \(Self.whereClause(before))"))
                .first?.decode(Int.self) ?? 0
        }
    }

    /// Every job of `query`, in its order, from one snapshot, handed to `body` one
    /// at a time. The rows come through a server-side cursor ``forEachBatch`` at a
    /// time, so memory stays that of one batch for `list --json` of a million jobs.
    public func forEachJob(_ query: JobListQuery, _ body: (Job) throws -> Void) throws {
        try readSnapshot {
            var statement = PostgresStatementText()
            let conditions = query.postgresConditions(&statement)
            try session.execute(statement.query("""
                DECLARE queuectl_each_job NO SCROLL CURSOR FOR
                SELECT \(Job.postgresColumns) FROM jobs \(Self.whereClause(conditions)) \(query.postgresOrder(reversed: false))
                """))
            while true {
                let rows = try session.query("FETCH \(unescaped: String(Self.forEachBatch)) FROM queuectl_each_job")
                for row in rows { try body(try Job(postgresRow: row)) }
                if rows.count < Self.forEachBatch { break }
            }
            try session.execute("CLOSE queuectl_each_job")
        }
    }

    /// Rows `forEachJob` fetches per round trip.
    static let forEachBatch = 1000

    static func whereClause(_ conditions: [String]) -> String {
        conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
    }

    /// Jobs in the whole list: from the sharded per-queue, per-state counters when
    /// there is no text filter (a few dozen rows, whatever the table holds), else
    /// counted.
    func listTotal(_ query: JobListQuery) throws -> Int {
        var statement = PostgresStatementText()
        let sql = Self.listTotalSQL(query, &statement)
        return try session.query(statement.query(sql)).first?.decode(Int.self) ?? 0
    }

    /// A one-row, one-column SELECT of how many jobs `query` lists: from the
    /// counters for a state and/or a queue, by counting for a text filter.
    static func listTotalSQL(_ query: JobListQuery, _ statement: inout PostgresStatementText) -> String {
        if query.filter.isEmpty || query.queueFilter != nil {
            var conditions: [String] = []
            if let state = query.state { conditions.append(state.postgresCondition) }
            if let queue = query.queueFilter { conditions.append("queue = \(statement.bind(queue))") }
            return "SELECT coalesce(sum(n), 0)::BIGINT FROM job_counts \(Self.whereClause(conditions))"
        }
        return "SELECT count(*) FROM jobs \(Self.whereClause(query.postgresConditions(&statement)))"
    }
}
