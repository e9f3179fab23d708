/// A reading of the queue for monitoring systems (`queuectl metrics`): what a
/// Prometheus scrape or node_exporter's textfile collector records each time.
///
/// Counts of runs and the duration histogram count every run finished since the
/// database was created: they only grow, even when old jobs and their runs are
/// deleted.
public struct QueueMetrics: Sendable, Equatable {
    /// Jobs in each state now.
    public var jobs: JobCounts
    /// Finished runs by how they ended (every outcome present, zero when none).
    public var runs: [RunOutcome: Int]
    /// How long finished runs took.
    public var runDuration: DurationHistogram
    /// How long the oldest job that may run now has been waiting since it became
    /// eligible (its `run_at`), in ms; 0 when no job is waiting.
    public var queueLatencyMilliseconds: Int64
    /// Registered workers by what they are doing (every state present).
    public var workers: [WorkerState: Int]

    public init(jobs: JobCounts, runs: [RunOutcome: Int], runDuration: DurationHistogram,
                queueLatencyMilliseconds: Int64, workers: [WorkerState: Int]) {
        self.jobs = jobs
        self.runs = runs
        self.runDuration = runDuration
        self.queueLatencyMilliseconds = queueLatencyMilliseconds
        self.workers = workers
    }
}

/// A cumulative histogram of durations, as Prometheus defines one: for each upper
/// bound, how many observations were at most that long, plus their count and sum.
public struct DurationHistogram: Sendable, Equatable {
    /// Upper bounds in milliseconds, ascending, and the number of observations at
    /// or below each (cumulative). The implicit `+Inf` bucket is `count`.
    public var buckets: [(upperBoundMilliseconds: Int64, cumulativeCount: Int)]
    public var count: Int
    public var sumMilliseconds: Int64

    public init(buckets: [(upperBoundMilliseconds: Int64, cumulativeCount: Int)], count: Int, sumMilliseconds: Int64) {
        self.buckets = buckets
        self.count = count
        self.sumMilliseconds = sumMilliseconds
    }

    public static func == (a: DurationHistogram, b: DurationHistogram) -> Bool {
        a.count == b.count && a.sumMilliseconds == b.sumMilliseconds
            && a.buckets.map(\.upperBoundMilliseconds) == b.buckets.map(\.upperBoundMilliseconds)
            && a.buckets.map(\.cumulativeCount) == b.buckets.map(\.cumulativeCount)
    }
}
