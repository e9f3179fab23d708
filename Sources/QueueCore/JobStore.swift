/// A job claimed by a worker: the job (already `processing`, attempts counted) and
/// the history row its run will fill in.
public struct ClaimedJob: Sendable, Equatable {
    public var job: Job
    public var runID: Int64
    public var config: QueueConfig

    public init(job: Job, runID: Int64, config: QueueConfig) {
        self.job = job
        self.runID = runID
        self.config = config
    }

    /// The run timeout in force: the job's own, else the `job-timeout` config.
    public var effectiveTimeout: Double? { job.timeout ?? config.jobTimeout }
}

/// A run a worker finished, with its result, not yet recorded.
public struct FinishedRun: Sendable, Equatable {
    public var claimed: ClaimedJob
    public var result: RunResult

    public init(claimed: ClaimedJob, result: RunResult) {
        self.claimed = claimed
        self.result = result
    }
}

/// What one transaction of a worker between runs did (see `SQLiteJobStore.settle`).
public struct Settlement: Sendable, Equatable {
    /// Per result given, in order: the job as recorded, nil when the lease was lost.
    public var finished: [Job?] = []
    /// The first job claimed, or why there is none.
    public var next: ClaimOutcome = .noJob
    /// Jobs claimed ahead, after `next`, in claim order.
    public var ahead: [ClaimedJob] = []

    public init() {}
}

/// What a claim attempt found.
public enum ClaimOutcome: Sendable, Equatable {
    case claimed(ClaimedJob)
    /// Nothing is eligible now.
    case noJob
    /// The worker was asked to stop: it must take no new job.
    case stopRequested
    /// The worker's row is gone (recovery presumed it dead): it must exit.
    case workerReleased

    public var isClaimed: Bool {
        if case .claimed = self { return true }
        return false
    }
}

/// Counts of jobs in each state (every state present, zeros included).
public struct JobCounts: Sendable, Equatable {
    public var counts: [JobState: Int]
    public init(counts: [JobState: Int]) { self.counts = counts }
    public subscript(state: JobState) -> Int { counts[state] ?? 0 }
    public var total: Int { counts.values.reduce(0, +) }

    public var json: JSONValue { .object(JobState.allCases.map { ($0.rawValue, .int(self[$0])) }) }
}

/// A run that recovery marked `interrupted`, with the process group to clean up;
/// or (`started` false) a job the worker had claimed ahead and never started, given
/// back without counting the attempt.
public struct InterruptedRun: Sendable, Equatable {
    public var runID: Int64?
    public var jobID: String
    public var attempt: Int
    public var workerID: String
    public var pid: Int?
    public var pidStartTicks: Int64?
    public var newState: JobState
    public var started = true
    /// The host the run's processes are on (nil: unknown, a single-host store's
    /// orphan). Recovery signals a process group only on that host.
    public var host: String?

    public init(runID: Int64?, jobID: String, attempt: Int, workerID: String, pid: Int?, pidStartTicks: Int64?,
                newState: JobState, started: Bool = true, host: String? = nil) {
        self.host = host
        self.runID = runID
        self.jobID = jobID
        self.attempt = attempt
        self.workerID = workerID
        self.pid = pid
        self.pidStartTicks = pidStartTicks
        self.newState = newState
        self.started = started
    }
}

/// Why a worker is being released by recovery.
public enum WorkerLoss: Sendable, Equatable {
    /// Its process is gone (checked on this host by pid and start time).
    case processExited
    /// No heartbeat for longer than `lease-timeout`.
    case leaseExpired(seconds: Double)

    public var message: String {
        switch self {
        case .processExited: return "worker process exited during the run"
        case let .leaseExpired(seconds): return "worker lost: no heartbeat for \(Int(seconds.rounded())) s"
        }
    }
}

/// Storage of the queue: every capability a backend provides. SQLite
/// (`SQLiteJobStore`, module QueueSQLite) is the embedded default; PostgreSQL
/// (`PostgresJobStore`, module QueuePostgres) serves workers on many hosts.
///
/// The domain decides, the store applies: next-state rules live in QueueCore
/// (`RunEnding`, `RetryRule`, `Cancellation`, `DependencyStart`, `JobState`'s claim
/// rule); a store applies them in fenced transactions (only while the worker still
/// holds the job) and answers queries. Callers hold the narrowest capability they
/// need: the read-only console holds a `JobReader`.
public protocol JobStore: JobReader, JobQueueing, LeaseStore {}
