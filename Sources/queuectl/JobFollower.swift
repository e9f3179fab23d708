import Foundation
import QueueCore
import QueueRunner

/// `enqueue --wait`: follows one job to its end, copying each run's output to
/// stdout as it is written, and turns the end into the job's own exit status.
struct JobFollower {
    let store: any JobStore

    /// How often a running job's log is read again when no change event came
    /// (output written to the log does not touch the database).
    static let outputPollSeconds = 0.1

    /// Follows `jobID` until it is final; returns the exit status to leave with.
    func follow(jobID: String) throws -> Int32 {
        let watcher = ChangeWatcher(store: store, watchingOutput: true)
        var current: Int64?
        var offset: Int64 = 0
        // The same terminal rule as `logs` (made safe on a terminal, raw when piped).
        var output = LogsCommand.Output(safe: isatty(STDOUT_FILENO) != 0)
        while true {
            let job = try store.job(id: jobID)
            if let latest = try store.runID(jobID: jobID, number: nil), latest != current {
                if let current { _ = copy(runID: current, jobID: jobID, from: offset, to: &output) }
                if current != nil { Terminal.note("queuectl: job \(jobID) runs again (attempt \(job.attempts))") }
                current = latest
                offset = 0
            }
            if let current { offset = copy(runID: current, jobID: jobID, from: offset, to: &output) }
            if job.state.isFinal {
                if let current { _ = copy(runID: current, jobID: jobID, from: offset, to: &output) }
                return try exitStatus(of: job)
            }
            watcher.wait(seconds: job.state == .processing ? Self.outputPollSeconds : ChangeWatcher.fallbackSeconds)
        }
    }

    /// 0 when completed; the last run's exit code; 128+N for a run killed by
    /// signal N; else (cancelled, or no exit code) the `wait` command's 5.
    private func exitStatus(of job: Job) throws -> Int32 {
        if job.state == .completed { return 0 }
        let last = try store.runs(jobID: job.id).last
        if job.state == .dead {
            if let code = job.exitCode { return Int32(code) }
            if let signal = last?.signal { return Int32(128 + signal) }
        }
        Terminal.note("queuectl: job \(job.id) ended \(job.state.rawValue)\(job.lastError.map { ": \($0)" } ?? "")")
        return WaitCommand.notCompletedStatus
    }

    /// Copies a run's log from `offset` to stdout; returns the new offset. The log
    /// is read as `logs` reads it (never through a planted link).
    private func copy(runID: Int64, jobID: String, from offset: Int64, to output: inout LogsCommand.Output) -> Int64 {
        (try? output.copy(store: store, jobID: jobID, runID: runID, from: offset)) ?? offset
    }
}
