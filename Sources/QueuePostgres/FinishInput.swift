import Foundation
import QueueCore

/// One run's end as ``PostgresJobStore/finishRuns(_:_:workerID:config:now:)``
/// sends it: a row of a JSON array that the statement reads with
/// `jsonb_to_recordset`, so any number of runs travel as one parameter (absent
/// keys read as NULL). Both endings are given; the statement picks one.
struct FinishInput: Encodable {
    var id: String
    var attempt: Int
    var run_state: String
    var run_at: Int64
    var run_error: String?
    var cancel_state: String
    var cancel_error: String?
    var exit_code: Int?
    var run_id: Int64
    var finished_at: Int64
    var outcome: String
    var signal: Int?
    var error: String?
    var output_bytes: Int64?
    var pid: Int?
    var pid_start: Int64?
    var started_at: Int64?
    var output_lost: String?

    /// The JSON array for `runs`, each with its two endings.
    static func json(_ runs: [FinishedRun], endings: [(ifRunning: RunEnding, ifCancelRequested: RunEnding)],
                     now: Timestamp) throws -> String {
        let rows = zip(runs, endings).map { run, ending in
            let job = run.claimed.job, result = run.result
            return FinishInput(
                id: job.id, attempt: job.attempts,
                run_state: ending.ifRunning.state.rawValue, run_at: (ending.ifRunning.retryAt ?? job.runAt).milliseconds,
                run_error: ending.ifRunning.error,
                cancel_state: ending.ifCancelRequested.state.rawValue, cancel_error: ending.ifCancelRequested.error,
                exit_code: result.exitCode, run_id: run.claimed.runID, finished_at: (result.finishedAt ?? now).milliseconds,
                outcome: result.outcome.rawValue, signal: result.signal, error: result.error, output_bytes: result.outputBytes,
                pid: result.pid, pid_start: result.pidStartTicks, started_at: result.startedAt?.milliseconds,
                output_lost: result.outputLost)
        }
        return String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
    }
}
