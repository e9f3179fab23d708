import QueueCore
import GRDB

/// How a job list becomes SQL: the FROM/WHERE clause and the ORDER BY.
extension JobListQuery {
    /// FROM/WHERE clause and its arguments. `ordered` picks the index that walks
    /// the list in claim order (for paging; a lookup by id is better off without).
    func source(ordered: Bool = true) -> (sql: String, arguments: StatementArguments) {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        var from = "jobs"
        if usesClaimOrder && ordered {
            // The partial index is only picked when forced, and its WHERE must be
            // repeated for SQLite to accept it.
            from = "jobs INDEXED BY jobs_ready"
            conditions.append(SQLiteJobStore.readyCondition)
        }
        if let state {
            conditions.append(state.selectionCondition())
        }
        if filter.hasPrefix(Self.queuePrefix) {
            // `queue:NAME` picks one queue's jobs instead of matching text.
            conditions.append("queue = ?")
            _ = arguments.append(contentsOf: [String(filter.dropFirst(Self.queuePrefix.count))])
        } else if !filter.isEmpty {
            let needle = filter.lowercased()
            var fields = ["id", "command"]
            if matchErrors { fields.append("last_error") }
            conditions.append("(" + fields.map { "instr(lower(coalesce(\($0), '')), ?) > 0" }.joined(separator: " OR ") + ")")
            _ = arguments.append(contentsOf: StatementArguments(fields.map { _ in needle }))
        }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return (from + whereClause, arguments)
    }

    func orderClause(reversed: Bool) -> String {
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


/// The paged, filtered reads the monitor needs. Each fetches only the rows on
/// screen, so the console stays fast with millions of jobs.
extension SQLiteJobStore {
    /// Up to `limit` jobs of `query` starting at position `offset`, and how many
    /// jobs the list holds in all. The total and the rows come from one snapshot.
    public func jobPage(_ query: JobListQuery, limit: Int, offset: Int) throws -> JobPage {
        try read { db in
            let total = try Self.total(db, query)
            let offset = max(0, offset)
            let limit = max(0, min(limit, total - offset))
            guard limit > 0 else { return JobPage(jobs: [], total: total, offset: offset) }
            let (source, arguments) = query.source()
            // OFFSET walks the rows it skips: past the middle, walk from the other end
            // (the last page of a million jobs is as quick as the first).
            let reversed = offset > total / 2
            let skip = reversed ? total - offset - limit : offset
            let rows = try Row.fetchAll(
                db, sql: "SELECT \(Job.columns) FROM \(source) \(query.orderClause(reversed: reversed)) LIMIT ? OFFSET ?",
                arguments: arguments + [limit, skip])
            let jobs = try rows.map(Job.init(row:))
            return JobPage(jobs: reversed ? jobs.reversed() : jobs, total: total, offset: offset)
        }
    }

    /// Position of job `id` in the list of `query` (0 is the top), or nil when the
    /// job is not in that list (any more).
    public func jobPosition(id: String, in query: JobListQuery) throws -> Int? {
        try read { db in
            let (plain, plainArguments) = query.source(ordered: false)
            guard let row = try Row.fetchOne(db, sql: "SELECT seq, priority, run_at, updated_at FROM \(plain)\(Self.and(plain))id = ?",
                                             arguments: plainArguments + [id]) else { return nil }
            let seq: Int64 = row[0], priority: Int = row[1], runAt: Int64 = row[2], updatedAt: Int64 = row[3]
            let before: String
            let extra: StatementArguments
            if query.usesClaimOrder {
                before = "(priority > ? OR (priority = ? AND (run_at < ? OR (run_at = ? AND seq < ?))))"
                extra = [priority, priority, runAt, runAt, seq]
            } else if query.order == .oldest {
                before = "seq < ?"
                extra = [seq]
            } else if query.order == .recentlyChanged {
                before = "(updated_at > ? OR (updated_at = ? AND seq > ?))"
                extra = [updatedAt, updatedAt, seq]
            } else {
                before = "seq > ?"
                extra = [seq]
            }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM \(plain)\(Self.and(plain))\(before)",
                                     arguments: plainArguments + extra) ?? 0
        }
    }

    /// Every job of `query`, in its order, read from one snapshot and handed to
    /// `body` one at a time (memory stays that of one job, for `list --json` of a
    /// million jobs).
    public func forEachJob(_ query: JobListQuery, _ body: (Job) throws -> Void) throws {
        try read { db in
            let (source, arguments) = query.source()
            let rows = try Row.fetchCursor(db, sql: "SELECT \(Job.columns) FROM \(source) \(query.orderClause(reversed: false))",
                                           arguments: arguments)
            while let row = try rows.next() { try body(try Job(row: row)) }
        }
    }

    private static func and(_ source: String) -> String { source.contains(" WHERE ") ? " AND " : " WHERE " }

    /// Jobs in the whole list: from the per-state counters when unfiltered (O(1)),
    /// else counted.
    private static func total(_ db: Database, _ query: JobListQuery) throws -> Int {
        if query.filter.isEmpty {
            var total = 0
            for row in try Row.fetchAll(db, sql: "SELECT state, n FROM job_counts") {
                let state: String = row[0]
                if query.state == nil || query.state?.rawValue == state { total += row[1] as Int }
            }
            return total
        }
        let (source, arguments) = query.source(ordered: false)
        return try Int.fetchOne(db, sql: "SELECT count(*) FROM \(source)", arguments: arguments) ?? 0
    }
}

extension SQLiteJobStore {
    /// Finished runs in the last minute and in each of the last `minutes` clock minutes.
    public func throughput(now: Timestamp, minutes: Int = 30) throws -> Throughput {
        try read { db in
            var result = Throughput()
            let row = try Row.fetchOne(db, sql: """
                SELECT coalesce(sum(outcome = 'succeeded'), 0), coalesce(sum(outcome <> 'succeeded'), 0)
                FROM runs WHERE finished_at >= ?
                """, arguments: [now.milliseconds - 60_000])
            result.succeededLastMinute = row?[0] ?? 0
            result.failedLastMinute = row?[1] ?? 0
            let minutes = max(1, minutes)
            result.succeededPerMinute = Array(repeating: 0, count: minutes)
            result.failedPerMinute = Array(repeating: 0, count: minutes)
            let first = now.milliseconds / 60_000 - Int64(minutes - 1)
            // One range of `runs_finished` per minute, counted in the index: a
            // `GROUP BY finished_at / 60000` would sort every run of the window in a
            // temporary B-tree first (37,000 runs: 14 ms against 3 ms this way).
            for row in try Row.fetchAll(db, sql: """
                WITH RECURSIVE minutes(m) AS (SELECT ?1 UNION ALL SELECT m + 1 FROM minutes WHERE m < ?2)
                SELECT m,
                       (SELECT count(*) FROM runs WHERE finished_at >= m * 60000 AND finished_at < (m + 1) * 60000
                                                    AND outcome = 'succeeded'),
                       (SELECT count(*) FROM runs WHERE finished_at >= m * 60000 AND finished_at < (m + 1) * 60000
                                                    AND outcome <> 'succeeded')
                FROM minutes
                """, arguments: [first, first + Int64(minutes - 1)]) {
                let minute: Int64 = row[0]
                let index = Int(minute - first)
                if (0..<minutes).contains(index) {
                    result.succeededPerMinute[index] = row[1]
                    result.failedPerMinute[index] = row[2]
                }
            }
            return result
        }
    }
}
