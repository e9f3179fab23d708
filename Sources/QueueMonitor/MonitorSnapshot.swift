import QueueCore

/// Everything one frame shows, fetched in one go from the store. Lists hold only
/// the rows that fit on screen, with the totals they are part of.
public struct MonitorSnapshot: Sendable {
    public var databasePath: String
    public var counts = JobCounts(counts: [:])
    public var workers: [WorkerRecord] = []
    /// Every queue, by name (few: shown whole, like the workers).
    public var queues: [QueueSummary] = []
    /// Every schedule, listed under the queues with its next run.
    public var schedules: [Schedule] = []
    /// The Jobs pane's page.
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
    /// The rest of the snapshot is then the last good data.
    public var error: String?
    /// The query this snapshot answers, and its cursors as resolved against the
    /// data (kept on the same job id, in range, scrolled into view).
    public var requested: MonitorQuery?
    public var cursors: [Pane: ListCursor] = [:]

    public init(databasePath: String) { self.databasePath = databasePath }
}

/// The output of one run, as the log pane shows it.
public struct LogTail: Sendable, Equatable {
    public var jobID: String
    /// The run's number over the job's life (`RunRecord.number`).
    public var attempt: Int
    public var running: Bool
    public var lines: [String]
    /// The log file and its size when read, to notice growth without a database change.
    public var path: String
    public var fileSize: Int64
    /// The worker that ran it, so the Workers pane keeps showing a worker's last
    /// job's output once the worker is idle.
    public var workerID: String
    /// The run whose output this is (0: none).
    public var runID: Int64 = 0

    public init(jobID: String, attempt: Int, running: Bool, lines: [String], path: String = "", fileSize: Int64 = 0,
                workerID: String = "", runID: Int64 = 0) {
        self.runID = runID
        self.workerID = workerID
        self.jobID = jobID
        self.attempt = attempt
        self.running = running
        self.lines = lines
        self.path = path
        self.fileSize = fileSize
    }
}

/// A job with its history and output, for the detail overlay.
public struct JobDetail: Sendable, Equatable {
    public var job: Job
    public var runs: [RunRecord]
    /// The last lines of the latest run's output.
    public var output: [String]
    public var logPath: String
    public var logSize: Int64
    /// Jobs that depend on this one (the first few).
    public var dependents: [String]

    /// The run whose output `output` is (0: none).
    public var logRunID: Int64 = 0

    public init(job: Job, runs: [RunRecord], output: [String], logPath: String = "", logSize: Int64 = 0, dependents: [String] = [],
                logRunID: Int64 = 0) {
        self.logRunID = logRunID
        self.dependents = dependents
        self.job = job
        self.runs = runs
        self.output = output
        self.logPath = logPath
        self.logSize = logSize
    }
}

extension MonitorSnapshot {
    /// The query answered, with its cursors as resolved: what the console's state
    /// becomes when it adopts this snapshot.
    public var resolvedQuery: MonitorQuery? {
        guard var query = requested else { return nil }
        for (pane, cursor) in cursors { query.cursors[pane] = cursor }
        return query
    }
}
