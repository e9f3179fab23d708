/// How one run of a job ended.
public enum RunOutcome: String, Sendable, CaseIterable {
    case succeeded
    case failed
    case timedOut = "timed_out"
    /// The worker died or lost its lease while the run was going on.
    case interrupted
    /// Stopped by `queuectl cancel` (SIGTERM, then SIGKILL after `kill-grace`).
    case cancelled
}

/// One run (attempt) of a job: the history `show` prints.
public struct RunRecord: Sendable, Equatable {
    /// The run's id in the history (names its log file).
    public var id: Int64
    public var jobID: String
    /// The run's number among the job's runs, from 1, for the job's whole life:
    /// `show`, `logs --run` and the monitor use it. (Set by the store from the
    /// history's order, so it needs no column and costs a claim nothing.)
    public var number: Int
    /// The attempt within the current retry budget (restarts at 1 after `dlq retry`).
    public var attempt: Int
    public var workerID: String
    public var startedAt: Timestamp
    public var finishedAt: Timestamp?
    /// nil while the run is going on.
    public var outcome: RunOutcome?
    public var exitCode: Int?
    public var signal: Int?
    /// The job's process group leader (its `/bin/sh`), once spawned.
    public var pid: Int?
    /// Start time of `pid` in clock ticks since boot (`/proc/PID/stat` field 22):
    /// tells a live job process from an unrelated one that reused the pid.
    public var pidStartTicks: Int64?
    public var error: String?
    /// Bytes of output written to the log (before the cap).
    public var outputBytes: Int64?
    /// Why output of this run is missing from its log (see RunResult.outputLost).
    public var outputLost: String?
    /// The host the run was on, where the store records it (a server store, whose
    /// workers are on many hosts); nil on SQLite, whose workers share one host.
    public var host: String?

    public init(id: Int64, jobID: String, number: Int = 0, attempt: Int, workerID: String, startedAt: Timestamp, finishedAt: Timestamp? = nil,
                outcome: RunOutcome? = nil, exitCode: Int? = nil, signal: Int? = nil, pid: Int? = nil,
                pidStartTicks: Int64? = nil, error: String? = nil, outputBytes: Int64? = nil, outputLost: String? = nil) {
        self.outputLost = outputLost
        self.id = id
        self.jobID = jobID
        self.number = number
        self.attempt = attempt
        self.workerID = workerID
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.exitCode = exitCode
        self.signal = signal
        self.pid = pid
        self.pidStartTicks = pidStartTicks
        self.error = error
        self.outputBytes = outputBytes
    }

    public var durationSeconds: Double? { finishedAt.map { $0.seconds(since: startedAt) } }

    public var json: JSONValue {
        .object([
            ("run", .int(number)),
            ("attempt", .int(attempt)),
            ("worker_id", .string(workerID)),
        ] + (host.map { [("host", JSONValue.string($0))] } ?? []) + [
            ("started_at", .string(startedAt.iso8601)),
            ("finished_at", .optional(finishedAt)),
            ("outcome", .optional(outcome?.rawValue)),
            ("exit_code", .optional(exitCode)),
            ("signal", .optional(signal)),
            ("duration", .optional(durationSeconds)),
            ("pid", .optional(pid)),
            ("error", .optional(error)),
            ("output_lost", .optional(outputLost)),
        ])
    }
}

/// What a worker reports when a run ends.
public struct RunResult: Sendable, Equatable {
    public var outcome: RunOutcome
    public var exitCode: Int?
    public var signal: Int?
    public var error: String?
    public var outputBytes: Int64?
    /// Why some or all of the run's output is missing from its log (the logs folder
    /// not writable, the disk full), with how many bytes; nil when none is.
    public var outputLost: String?
    /// The run's process group leader, if it was spawned.
    public var pid: Int?
    public var pidStartTicks: Int64?
    /// When the process was spawned; nil keeps the claim time as the run's start.
    public var startedAt: Timestamp?
    /// When the run ended; nil takes the time the result is recorded. (A worker
    /// records the results of short runs in batches, a few milliseconds later.)
    public var finishedAt: Timestamp?

    public init(outcome: RunOutcome, exitCode: Int? = nil, signal: Int? = nil, error: String? = nil, outputBytes: Int64? = nil,
                pid: Int? = nil, pidStartTicks: Int64? = nil) {
        self.pid = pid
        self.pidStartTicks = pidStartTicks
        self.outcome = outcome
        self.exitCode = exitCode
        self.signal = signal
        self.error = error
        self.outputBytes = outputBytes
    }
}
