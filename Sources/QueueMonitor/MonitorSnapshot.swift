import QueueCore

/// Everything one frame shows, fetched in one go from the store. Lists hold only
/// the rows that fit on screen, with the totals they are part of.
public struct MonitorSnapshot: Sendable {
    public var databasePath: String
    public var counts = JobCounts(counts: [:])
    public var workers: [WorkerRecord] = []
    public var jobs: [Job] = []
    public var jobsTotal = 0
    /// Position of `jobs[0]` in the whole (filtered) list.
    public var jobsOffset = 0
    public var dead: [Job] = []
    public var deadTotal = 0
    public var deadOffset = 0
    /// Succeeded and failed runs in each of the last minutes, oldest first.
    public var succeededPerMinute: [Int] = []
    public var failedPerMinute: [Int] = []
    /// Runs that succeeded and failed in the last 60 seconds.
    public var completedLastMinute = 0
    public var failedLastMinute = 0
    /// The log tail pane: which job and run it shows, and its last lines.
    public var log: LogTail?
    /// The job detail overlay's data, when it is open.
    public var detail: JobDetail?
    public var fetchedAt = Timestamp(milliseconds: 0)
    /// The last error talking to the database, shown in a banner (nil when fine).
    public var error: String?

    public init(databasePath: String) { self.databasePath = databasePath }
}

/// The output of one run, as the log pane shows it.
public struct LogTail: Sendable, Equatable {
    public var jobID: String
    public var attempt: Int
    public var running: Bool
    public var lines: [String]
    /// Size of the log file when read, to notice growth without a database change.
    public var fileSize: Int64

    public init(jobID: String, attempt: Int, running: Bool, lines: [String], fileSize: Int64) {
        self.jobID = jobID
        self.attempt = attempt
        self.running = running
        self.lines = lines
        self.fileSize = fileSize
    }
}

/// A job with its history and output, for the detail overlay.
public struct JobDetail: Sendable, Equatable {
    public var job: Job
    public var runs: [RunRecord]
    public var output: [String]

    public init(job: Job, runs: [RunRecord], output: [String]) {
        self.job = job
        self.runs = runs
        self.output = output
    }
}
