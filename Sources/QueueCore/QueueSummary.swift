/// One queue as `queue list` and the console show it.
public struct QueueSummary: Sendable, Equatable {
    public var name: String
    /// Jobs of this queue in each state (every state present, zeros included).
    public var counts: JobCounts
    /// Most jobs of this queue processing at once across all workers; nil: no limit.
    public var concurrency: Int?
    /// A paused queue starts no new job; running ones finish.
    public var paused: Bool
    /// When the longest-waiting due job of this queue became due (its `run_at`):
    /// `now - oldestWaitingSince` is the queue's latency. nil: nothing waits.
    public var oldestWaitingSince: Timestamp?

    public init(name: String, counts: JobCounts, concurrency: Int?, paused: Bool, oldestWaitingSince: Timestamp?) {
        self.name = name
        self.counts = counts
        self.concurrency = concurrency
        self.paused = paused
        self.oldestWaitingSince = oldestWaitingSince
    }

    /// Jobs of this queue held by workers (running, or claimed ahead to run next).
    public var running: Int { counts[.processing] }

    /// Seconds the oldest due job has waited at `now`; 0 when none waits.
    public func latency(now: Timestamp) -> Double {
        oldestWaitingSince.map { max(0, now.seconds(since: $0)) } ?? 0
    }

    public func json(now: Timestamp) -> JSONValue {
        .object([
            ("name", .string(name)),
            ("paused", .bool(paused)),
            ("running", .int(running)),
            ("concurrency", concurrency.map { .int($0) } ?? .null),
            ("latency_seconds", .double((latency(now: now) * 1000).rounded() / 1000)),
            ("jobs", counts.json),
        ])
    }
}
