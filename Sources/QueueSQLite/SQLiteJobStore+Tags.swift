import QueueCore
import GRDB

extension SQLiteJobStore {
    /// Jobs carrying `tag` (of one state, or all), oldest first. Tags are read from
    /// each job's `tags` column in `seq` order, stopping once `limit` are found.
    public func jobs(tagged tag: String, state: JobState?, limit: Int, offset: Int = 0) throws -> [Job] {
        try read { db in
            let stateCondition = state.map { "\($0.selectionCondition()) AND " } ?? ""
            return try Row.fetchAll(db, sql: """
                SELECT \(Job.columns) FROM jobs
                WHERE \(stateCondition)tags IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(jobs.tags) WHERE value = ?)
                ORDER BY seq LIMIT ? OFFSET ?
                """, arguments: [tag, limit, offset]).map(Job.init(row:))
        }
    }
}
