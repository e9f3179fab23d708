import ArgumentParser
import QueueCore

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one job with its run history.",
        discussion: """
            Examples:
              queuectl show job1
              queuectl show job1 --json | jq '.history[-1].outcome'

            --json adds "worker_pid" (the worker running the job, else null) and \
            "history", each run with "run" (numbered over the job's life) and \
            "attempt" (within the current retry budget).
            """
    )
    /// Most dependents listed (their count is always given).
    static let dependentsShown = StatusReport.dependentsShown

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The job id.", completion: JobIDCompletion.any)
    var id: String
    @Flag(help: "Print the job object plus \"history\" as JSON.")
    var json = false

    func run() throws {
        try reportingErrors {
            let store = try global.openStoreForReading()
            let job = try store.job(id: id)
            let runs = try store.runs(jobID: id)
            let dependents = try store.dependents(of: id, limit: Self.dependentsShown)
            let dependentTotal = dependents.count < Self.dependentsShown ? dependents.count : try store.dependentCount(of: id)
            if json {
                let workers = job.workerID == nil ? [] : try store.workers()
                Terminal.printJSON(StatusReport.json(job: job, runs: runs, workers: workers, dependents: dependents))
                return
            }
            let now = Timestamp.now()
            var lines: [(String, String)] = [
                ("id", SafeText.visible(job.id)), ("command", SafeText.visible(job.command)), ("state", Terminal.state(job.state)),
                ("attempts", "\(job.attempts) of \(job.maxRetries + 1) (max_retries \(job.maxRetries))"),
                ("priority", String(job.priority)),
                ("run_at", "\(job.runAt.iso8601) (\(Terminal.relative(job.runAt, now: now)))"),
                ("timeout", job.timeout.map(DurationText.exact) ?? "default (config job-timeout)"),
                ("created_at", job.createdAt.iso8601), ("updated_at", job.updatedAt.iso8601),
            ]
            if let e = job.exitCode { lines.append(("exit_code", String(e))) }
            if let e = job.lastError { lines.append(("last_error", SafeText.visible(e))) }
            if let w = job.workerID { lines.append(("worker", SafeText.visible(w))) }
            if job.cancelRequested && job.state == .processing { lines.append(("cancel", "requested; the worker is stopping the run")) }
            lines += try JobControlLines.lines(for: job, store: store, dependents: dependents, dependentTotal: dependentTotal)
                .map { ($0.0, SafeText.visible($0.1)) }
            for (k, v) in lines { print("\(Terminal.padded(k, to: 11)) \(v)") }
            guard !runs.isEmpty else { print("\nno runs yet"); return }
            print("\nHistory")
            // A store whose workers are on many hosts records each run's host: then
            // the history says where each run was.
            let hosts = runs.contains { $0.host != nil }
            let rows = runs.map { r -> [String] in
                var row = ["#\(r.number)", r.outcome?.rawValue ?? "running",
                           r.exitCode.map(String.init) ?? (r.signal.map { "sig \($0)" } ?? "-"),
                           r.durationSeconds.map { String(format: "%.3fs", $0) } ?? Terminal.duration(now.seconds(since: r.startedAt)),
                           r.startedAt.iso8601, r.workerID]
                if hosts { row.append(SafeText.visible(r.host ?? "-")) }
                row.append(Terminal.clip(r.error ?? "", 60))
                return row
            }
            print(Terminal.table(["RUN", "OUTCOME", "EXIT", "DURATION", "STARTED", "WORKER"] + (hosts ? ["HOST"] : []) + ["ERROR"], rows)
                .split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            for run in runs { if let lost = run.outputLost { print("  #\(run.number): \(lost)") } }
        }
    }
}
