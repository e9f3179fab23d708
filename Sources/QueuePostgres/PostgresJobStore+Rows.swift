import PostgresNIO
import QueueCore

extension Job {
    /// Columns in the order ``init(postgresRow:)`` reads them.
    static let postgresColumns = """
        id, command, state, attempts, max_retries, priority, run_at, timeout, created_at, updated_at, last_error, \
        exit_code, worker_id, queue, options, tags, unique_key, depends_on, requeued_from, cancel_requested
        """

    /// How many columns ``postgresColumns`` names.
    static let postgresColumnCount = postgresColumns.split(separator: ",").count

    /// Reads ``postgresColumns``.
    init(postgresRow row: PostgresRow) throws {
        let cells = row.makeRandomAccess()
        let stateText = try cells[2].decode(String.self)
        guard let state = JobState(rawValue: stateText) else {
            throw QueueError.runtime("database holds an unknown job state '\(stateText)'")
        }
        self.init(
            id: try cells[0].decode(String.self), command: try cells[1].decode(String.self), state: state,
            attempts: try cells[3].decode(Int.self), maxRetries: try cells[4].decode(Int.self),
            priority: try cells[5].decode(Int.self), runAt: Timestamp(milliseconds: try cells[6].decode(Int64.self)),
            timeout: try cells[7].decode(Double?.self),
            createdAt: Timestamp(milliseconds: try cells[8].decode(Int64.self)),
            updatedAt: Timestamp(milliseconds: try cells[9].decode(Int64.self)),
            lastError: try cells[10].decode(String?.self), exitCode: try cells[11].decode(Int?.self),
            workerID: try cells[12].decode(String?.self), queue: try cells[13].decode(String.self))
        // Job-control columns, NULL for plain jobs.
        if let text = try cells[14].decode(String?.self) { options = JobOptions(storedText: text) }
        tags = try cells[15].decode([String]?.self) ?? []
        uniqueKey = try cells[16].decode(String?.self)
        dependsOn = try cells[17].decode([String]?.self) ?? []
        requeuedFrom = try cells[18].decode(String?.self)
        cancelRequested = try cells[19].decode(Bool.self)
    }
}
