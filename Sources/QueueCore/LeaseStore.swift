/// What a worker asks of one claim transaction.
public struct ClaimRequest: Sendable, Equatable {
    public var workerID: String
    /// The most jobs to claim (1 + jobs claimed ahead, see ClaimAhead).
    public var limit: Int
    /// The queues the worker serves (nil: every queue).
    public var queues: [String]?
    public var now: Timestamp

    public init(workerID: String, limit: Int = 1, queues: [String]? = nil, now: Timestamp) {
        self.workerID = workerID
        self.limit = limit
        self.queues = queues
        self.now = now
    }
}

/// The lease side of a store: workers register, claim, heartbeat and record runs;
/// recovery releases the jobs of workers that are gone. Every write about a job is
/// fenced: it applies only while the worker still holds the job at that attempt.
public protocol LeaseStore: AnyObject, Sendable {
    func registerWorker(_ worker: WorkerRecord) throws
    /// Registers a worker started at stop generation `generation`, unless a stop of
    /// every worker came since (then false, nothing written).
    func registerWorker(_ worker: WorkerRecord, unlessStoppedSince generation: Int64) throws -> Bool
    func deregisterWorker(id: String) throws

    func claim(_ request: ClaimRequest) throws -> ClaimOutcome
    /// A worker's write between runs: records `results`, gives back `unstarted`
    /// (claimed ahead, never started: attempts not counted), then claims up to
    /// `request.limit` jobs. `jobsDone` (when given) goes to the worker's row.
    /// Usually one transaction; a store may commit the results before it claims
    /// (PostgreSQL does when the claim needs its queues' turns), never the claim
    /// before the results.
    func settle(_ results: [FinishedRun], givingBack unstarted: [ClaimedJob], request: ClaimRequest,
                jobsDone: Int?) throws -> Settlement
    /// Records a run's end if `workerID` still holds the job; nil when it lost the lease.
    func finish(_ claimed: ClaimedJob, workerID: String, result: RunResult, now: Timestamp) throws -> Job?

    /// Renews the lease, measured on the store's clock; returns that time and the
    /// running jobs of this worker that someone cancelled, or nil when the worker
    /// was released (its row is gone).
    func heartbeat(workerID: String, jobsDone: Int) throws -> (at: Timestamp, cancelled: [String])?
    /// Whether run output lives in the store (a server store, readable from every
    /// host) rather than in the files beside the database.
    var keepsOutputInDatabase: Bool { get }
    /// Keeps the output a run wrote so far where every host can read it: `bytes`
    /// written at byte `offset` of the run's output (a server store; never called
    /// where the file beside the database is the record). Fenced like a result.
    func appendOutput(runID: Int64, workerID: String, bytes: [UInt8], at offset: Int64) throws

    /// Workers whose lease ran out: no heartbeat for longer than `leaseTimeout`
    /// seconds, judged on the store's clock (`now` for SQLite, whose workers share
    /// one host's clock; the database's own clock for a server).
    func expiredWorkers(leaseTimeout: Double, now: Timestamp) throws -> [(worker: WorkerRecord, silentFor: Double)]
    /// Releases a lost worker: the jobs it held are marked interrupted and go through
    /// the retry path. Jobs whose runs come after `startedThrough` (the last run the
    /// worker said it started) never started: they are given back without counting
    /// the attempt. nil when the worker was not released (gone already, or a
    /// heartbeat came).
    func releaseWorker(_ worker: WorkerRecord, loss: WorkerLoss, startedThrough: Int64?, now: Timestamp) throws -> [InterruptedRun]?
    /// Releases `processing` jobs whose worker row no longer exists.
    func releaseOrphanedJobs(now: Timestamp) throws -> [InterruptedRun]
    /// What a recovery sweep looks at (see ``RecoveryView``), as of `now`;
    /// `judgingLeases: false` reports no lease as expired.
    func recoveryView(now: Timestamp, judgingLeases: Bool) throws -> RecoveryView

    /// Why this store can no longer reach the queue its workers registered in (a
    /// SQLite file deleted or replaced under them), or nil. A worker that sees a
    /// reason stops: its results could reach no one.
    func storageLost() -> String?
}

extension LeaseStore {
    public func claim(workerID: String, now: Timestamp) throws -> ClaimOutcome {
        try claim(ClaimRequest(workerID: workerID, now: now))
    }
    public func claim(workerID: String, queues: [String]?, now: Timestamp) throws -> ClaimOutcome {
        try claim(ClaimRequest(workerID: workerID, queues: queues, now: now))
    }
}
