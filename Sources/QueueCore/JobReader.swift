/// The read side of a store: lists, counts, histories, the console's pages, and a
/// change token. Nothing here writes (a `--readonly` console holds only this).
public protocol JobReader: AnyObject, Sendable {
    /// Where this host keeps the queue's local files (worker log, running-job
    /// files, captured output while a run goes on). For SQLite, beside the
    /// database; for a server database, a private folder of this user.
    var location: DatabaseLocation { get }
    /// The address to show people (never a password).
    var displayAddress: String { get }
    /// Which kind of store, for `version` and the bench (e.g. "sqlite 3.40.1").
    var engine: String { get }

    func job(id: String) throws -> Job
    /// The jobs found among `ids` (unknown ids are left out), in no set order.
    func jobs(ids: [String]) throws -> [Job]
    func jobs(state: JobState?, limit: Int, offset: Int) throws -> [Job]
    func jobs(state: JobState?, queue: String?, schedule: String?, limit: Int, offset: Int) throws -> [Job]
    func jobs(tagged tag: String, state: JobState?, limit: Int, offset: Int) throws -> [Job]
    /// Job ids starting with `prefix`, for shell completion.
    func jobIDs(startingWith prefix: String, state: JobState?, limit: Int) throws -> [String]
    func counts() throws -> JobCounts
    func runs(jobID: String) throws -> [RunRecord]
    /// The id of run `number` of the job (nil: its latest run), nil when none.
    func runID(jobID: String, number: Int?) throws -> Int64?
    func runIsActive(runID: Int64) throws -> Bool
    /// Up to `limit` bytes of a run's captured output from byte `offset` (see `RunOutput`).
    func runOutput(jobID: String, runID: Int64, from offset: Int64, limit: Int) throws -> RunOutput
    func dependents(of jobID: String, limit: Int) throws -> [Job]
    func dependentCount(of jobID: String) throws -> Int

    // The console's and the dashboard's paged reads (fast at a million jobs).
    func jobPage(_ query: JobListQuery, limit: Int, offset: Int) throws -> JobPage
    func jobPosition(id: String, in query: JobListQuery) throws -> Int?
    /// Every job of `query` in its order, one at a time, from one snapshot.
    func forEachJob(_ query: JobListQuery, _ body: (Job) throws -> Void) throws
    func throughput(now: Timestamp, minutes: Int) throws -> Throughput

    func stats(now: Timestamp) throws -> QueueStats
    /// Figures for monitoring (`queuectl metrics`); none may grow with the tables.
    func metrics(now: Timestamp) throws -> QueueMetrics
    func config() throws -> QueueConfig
    func workers() throws -> [WorkerRecord]
    /// ``counts()`` and ``workers()`` together, as `status` and the dashboard show
    /// them (a server store reads both in one round trip).
    func countsAndWorkers() throws -> (counts: JobCounts, workers: [WorkerRecord])
    func queues() throws -> [QueueSummary]
    /// Jobs of these queues held by workers now.
    func processingCount(queues: [String]) throws -> Int
    func schedules() throws -> [Schedule]
    /// Earliest `run_at` among waiting jobs, so an idle worker knows when to look again.
    func nextRunAt() throws -> Timestamp?
    /// When the latest run finished (the bench's drain clock).
    func lastRunFinishedAt() throws -> Timestamp?
    /// How many times every worker was asked to stop (`worker stop`); a process
    /// that starts workers reads it first and hands it to them.
    func stopGeneration() throws -> Int64

    func eventCursor(since: Timestamp) throws -> EventCursor
    func eventCursor(last count: Int) throws -> EventCursor
    func events(after cursor: EventCursor, limit: Int) throws -> (events: [QueueEvent], cursor: EventCursor)

    /// A value that differs whenever anything in the queue changed since the last
    /// call (pollers skip work when it did not).
    func changeToken() throws -> Int64
    /// A descriptor that becomes readable when the queue may have changed
    /// (`.anyChange`) or when work may be there to claim (`.work`): inotify for
    /// SQLite, LISTEN for PostgreSQL. A timer bounds every wait anyway.
    func changeSignal(_ kind: ChangeSignal.Kind) throws -> ChangeSignal
    /// Runs `body` giving up on a busy database after `seconds`, for work that is
    /// only worth doing if the store is free (a read command's recovery sweep).
    func withWaitLimit<T>(seconds: Double, _ body: () throws -> T) rethrows -> T
}

extension JobReader {
    public func countsAndWorkers() throws -> (counts: JobCounts, workers: [WorkerRecord]) {
        (try counts(), try workers())
    }

    public func jobs(state: JobState?, limit: Int) throws -> [Job] { try jobs(state: state, limit: limit, offset: 0) }
    public func jobs(state: JobState?, queue: String?, schedule: String?, limit: Int) throws -> [Job] {
        try jobs(state: state, queue: queue, schedule: schedule, limit: limit, offset: 0)
    }
    public func jobs(tagged tag: String, state: JobState?, limit: Int) throws -> [Job] {
        try jobs(tagged: tag, state: state, limit: limit, offset: 0)
    }
    public func dependents(of jobID: String) throws -> [Job] { try dependents(of: jobID, limit: 1000) }
    public func throughput(now: Timestamp) throws -> Throughput { try throughput(now: now, minutes: 30) }
    public func events(after cursor: EventCursor) throws -> (events: [QueueEvent], cursor: EventCursor) {
        try events(after: cursor, limit: 1000)
    }
}

/// A slice of a run's captured output.
public struct RunOutput: Sendable, Equatable {
    public var bytes: [UInt8]
    /// Bytes the run wrote in all so far (may exceed what is kept: see `truncated`).
    public var total: Int64
    /// Whether more than `output-limit` was written and only the start is kept.
    public var truncated: Bool
    /// Why the output was lost (the run's `output_lost`), if it was.
    public var lost: String?
    /// False when nothing was ever captured for this run (no file, no row).
    public var exists: Bool

    public init(bytes: [UInt8], total: Int64, truncated: Bool = false, lost: String? = nil, exists: Bool = true) {
        self.bytes = bytes
        self.total = total
        self.truncated = truncated
        self.lost = lost
        self.exists = exists
    }
}
