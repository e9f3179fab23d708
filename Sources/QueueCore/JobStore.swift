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

    public init(runID: Int64?, jobID: String, attempt: Int, workerID: String, pid: Int?, pidStartTicks: Int64?,
                newState: JobState, started: Bool = true) {
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

/// Storage of the queue. SQLite (``SQLiteJobStore``) is the embedded default; the
/// protocol keeps the runner and the CLI independent of it so another backend
/// (PostgreSQL for multi-host workers) can slot in.
public protocol JobStore: Sendable {
    var location: DatabaseLocation { get }

    // Enqueue and queries
    func enqueue(_ specs: [JobSpec], now: Timestamp) throws -> [Job]
    /// Inserts batches from `nextBatch` (until nil) in one transaction, all or none,
    /// with memory bounded by one batch; `enqueued` sees each job inserted (or,
    /// marked duplicate, the job already queued under its unique key).
    func enqueue(batches nextBatch: () throws -> [JobSpec]?, total: Int?, now: Timestamp, enqueued: (EnqueuedJob) throws -> Void) throws -> Int
    func job(id: String) throws -> Job
    func jobs(state: JobState?, limit: Int, offset: Int) throws -> [Job]
    func counts() throws -> JobCounts
    func runs(jobID: String) throws -> [RunRecord]
    func retryDead(ids: [String], now: Timestamp) throws -> [Job]

    // Config
    func config() throws -> QueueConfig
    func setConfig(_ key: ConfigKey, _ value: Double) throws
    func unsetConfig(_ key: ConfigKey) throws

    // Workers
    func registerWorker(_ worker: WorkerRecord) throws
    func workers() throws -> [WorkerRecord]
    /// Refreshes the heartbeat; false when the row is gone (recovery released this worker).
    func heartbeat(workerID: String, now: Timestamp) throws -> Bool
    func requestStop(workerIDs: [String]) throws
    func deregisterWorker(id: String) throws
    /// How many times every worker was asked to stop (`worker stop`); a process
    /// that starts workers reads it first and hands it to them.
    func stopGeneration() throws -> Int64
    /// Registers a worker started at stop generation `generation`, unless a stop of
    /// every worker came since (then false, nothing written): a stop also reaches
    /// workers that were still starting.
    func registerWorker(_ worker: WorkerRecord, unlessStoppedSince generation: Int64) throws -> Bool
    /// Asks every registered worker to stop and counts up the stop generation, in
    /// one transaction. Returns the workers asked (read after the transaction).
    func requestStopOfAllWorkers() throws -> [WorkerRecord]

    // Running
    func claim(workerID: String, now: Timestamp) throws -> ClaimOutcome
    /// Records a run's end if `workerID` still holds the job; nil when it lost the lease.
    func finish(_ claimed: ClaimedJob, workerID: String, result: RunResult, now: Timestamp) throws -> Job?
    /// Releases a lost worker: the jobs it held are marked interrupted and go through the retry path.
    /// Jobs whose runs come after `startedThrough` (the last run the worker said it
    /// started) never started: they are given back without counting the attempt.
    /// nil when the worker was not released (gone already, or a heartbeat came).
    func releaseWorker(_ worker: WorkerRecord, loss: WorkerLoss, startedThrough: Int64?, now: Timestamp) throws -> [InterruptedRun]?
    /// Releases `processing` jobs whose worker row no longer exists.
    func releaseOrphanedJobs(now: Timestamp) throws -> [InterruptedRun]
    /// Earliest `run_at` among waiting jobs, so an idle worker knows when to look again.
    func nextRunAt() throws -> Timestamp?

    func stats(now: Timestamp) throws -> QueueStats

    // Queues (see `QueueTurns` for how claims share them)
    /// A claim from these queues only (nil: every queue).
    func claim(workerID: String, queues: [String]?, now: Timestamp) throws -> ClaimOutcome
    func queues() throws -> [QueueSummary]
    /// Caps the jobs of `queue` held by workers at once (nil or 0: no cap); checked in the claim.
    func setConcurrency(queue: String, _ limit: Int?) throws
    /// Pauses or resumes queues (nil: every known one); returns the queues changed.
    func setPaused(_ paused: Bool, queues: [String]?) throws -> [String]
    /// Jobs of these queues held by workers now.
    func processingCount(queues: [String]) throws -> Int

    // Schedules (see `Schedule`); workers fire them in their claims.
    func addSchedule(name: String, rule: Schedule.Rule, job: String, catchUpAll: Bool, now: Timestamp) throws -> Schedule
    func schedules() throws -> [Schedule]
    func removeSchedule(name: String) throws
    func setSchedulePaused(name: String, _ paused: Bool, now: Timestamp) throws -> Schedule

    /// Figures for monitoring (`queuectl metrics`); none may grow with the tables.
    func metrics(now: Timestamp) throws -> QueueMetrics
}
