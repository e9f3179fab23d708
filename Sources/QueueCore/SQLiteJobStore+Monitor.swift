import GRDB

/// The paged, filtered reads the monitor needs. Each fetches only the rows on
/// screen, so the console stays fast with millions of jobs.
extension SQLiteJobStore {
    /// How a job list is ordered on screen.
    public enum JobOrder: Sendable {
        /// Newest first.
        case newest
        /// The order workers will claim them in.
        case claim
    }

    /// One page of jobs in `state` (all when nil) whose id or command contains
    /// `filter` (case-insensitive), and how many jobs match in all.
    public func jobPage(state: JobState?, filter: String, order: JobOrder, limit: Int, offset: Int) throws -> (jobs: [Job], total: Int) {
        try read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let state {
                conditions.append("state = ?")
                _ = arguments.append(contentsOf: [state.rawValue])
            }
            if !filter.isEmpty {
                conditions.append("(instr(lower(id), lower(?)) > 0 OR instr(lower(command), lower(?)) > 0)")
                _ = arguments.append(contentsOf: [filter, filter])
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let orderClause = order == .claim ? "ORDER BY priority DESC, run_at, seq" : "ORDER BY seq DESC"
            let rows = try Row.fetchAll(db, sql: "SELECT \(Job.columns) FROM jobs \(whereClause) \(orderClause) LIMIT ? OFFSET ?",
                                        arguments: arguments + [limit, offset])
            let total: Int
            if filter.isEmpty {
                let counts = try Row.fetchAll(db, sql: "SELECT state, n FROM job_counts")
                total = counts.reduce(0) { sum, row in
                    let s: String = row[0]
                    return state == nil || state?.rawValue == s ? sum + (row[1] as Int) : sum
                }
            } else {
                total = try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs \(whereClause)", arguments: arguments) ?? 0
            }
            return (try rows.map(Job.init(row:)), total)
        }
    }
}
