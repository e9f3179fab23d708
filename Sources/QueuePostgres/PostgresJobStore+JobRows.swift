import PostgresNIO
import QueueCore

/// What the queue-side operations (retry, requeue, run-now, cancel, delete) share:
/// locking the jobs a command names and reading them back in the order given.
extension PostgresJobStore {
    /// `ids` without repeats, in the order given: a command naming a job twice acts once.
    static func distinct(_ ids: [String]) -> [String] {
        var seen = Set<String>()
        return ids.filter { seen.insert($0).inserted }
    }

    /// Locks the jobs named (inside a transaction) and returns them in the order
    /// given, each once; the first id that names no job is "not found", worded as
    /// `job(id:)` words it. Rows are locked in `seq` order, so two commands naming
    /// the same jobs cannot deadlock.
    func lockJobs(ids: [String]) throws -> [Job] {
        let unique = Self.distinct(ids)
        guard !unique.isEmpty else { return [] }
        var found: [String: Job] = [:]
        for row in try session.query("""
            SELECT \(unescaped: Job.postgresColumns) FROM jobs WHERE id = ANY(\(unique)) ORDER BY seq FOR UPDATE
            """) {
            let job = try Job(postgresRow: row)
            found[job.id] = job
        }
        return try unique.map { id in
            guard let job = found[id] else { throw QueueError.notFound("no job with id \(SafeText.quoted(id))") }
            return job
        }
    }

    /// The jobs with these ids, in the order given (ids that name none are left out).
    func jobs(inOrder ids: [String]) throws -> [Job] {
        let found = Dictionary(try jobs(ids: ids).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return ids.compactMap { found[$0] }
    }
}
