import PostgresNIO
import QueueCore

/// A statement put together from parts, for lists whose filters vary: each value
/// is bound in order as `$1`, `$2`, … and never pasted into the SQL text.
struct PostgresStatementText {
    var binds = PostgresBindings()

    /// Binds `value` and returns its placeholder (bind once, use the placeholder as often as needed).
    mutating func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
        binds.append(value)
        return "$\(binds.count)"
    }

    func query(_ sql: String) -> PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }
}

extension RunRecord {
    /// Columns in the order ``init(postgresRow:number:)`` reads them.
    static let postgresColumns = """
        id, job_id, attempt, worker_id, started_at, finished_at, outcome, exit_code, signal, pid, pid_start, error, \
        output_bytes, output_lost, host
        """

    /// Reads ``postgresColumns``; `number` is the run's place in its job's history.
    init(postgresRow row: PostgresRow, number: Int) throws {
        let (id, jobID, attempt, workerID, startedAt, finishedAt, outcome, exitCode, signal, pid, pidStart, error,
             outputBytes, outputLost, host)
            = try row.decode((Int64, String, Int, String, Int64, Int64?, String?, Int?, Int?, Int?, Int64?, String?,
                              Int64?, String?, String?).self)
        self.init(id: id, jobID: jobID, number: number, attempt: attempt, workerID: workerID,
                  startedAt: Timestamp(milliseconds: startedAt), finishedAt: finishedAt.map(Timestamp.init(milliseconds:)),
                  outcome: outcome.flatMap(RunOutcome.init(rawValue:)), exitCode: exitCode, signal: signal, pid: pid,
                  pidStartTicks: pidStart, error: error, outputBytes: outputBytes, outputLost: outputLost)
        self.host = host
    }
}

extension PostgresJobStore {
    /// Runs `body` in one read-only transaction that sees a single snapshot of the
    /// database (REPEATABLE READ), for reads of several statements that must agree
    /// (a page and its total). A read-only snapshot never fails to serialize.
    func readSnapshot<T>(_ body: () throws -> T) throws -> T {
        try session.transaction(readOnlySnapshot: true, body)
    }
}
