import QueueCore

extension PostgresJobStore {
    /// Records a change in the events table (see ``QueueEvent``).
    static func recordEvent(_ session: PostgresSession, _ kind: String, jobID: String, attempt: Int? = nil, detail: String? = nil,
                            now: Timestamp) throws {
        try session.execute("""
            INSERT INTO events (at, job_id, kind, attempt, detail) VALUES (\(now.milliseconds), \(jobID), \(kind), \(attempt), \(detail))
            """)
    }
}
