/// Throughput and latency figures over recent runs (`queuectl stats`).
public struct QueueStats: Sendable, Equatable {
    /// Runs finished within a window, per minute.
    public struct Window: Sendable, Equatable {
        public var minutes: Int
        public var succeeded: Int
        public var failed: Int
        /// Runs stopped by `queuectl cancel` (not counted as failed).
        public var cancelled = 0

        public init(minutes: Int, succeeded: Int, failed: Int, cancelled: Int = 0) {
            self.minutes = minutes
            self.succeeded = succeeded
            self.failed = failed
            self.cancelled = cancelled
        }

        public var succeededPerMinute: Double { Double(succeeded) / Double(minutes) }
        public var failedPerMinute: Double { Double(failed) / Double(minutes) }
    }

    public struct Percentiles: Sendable, Equatable {
        public var p50: Double?
        public var p95: Double?
        public var max: Double?

        public init(p50: Double?, p95: Double?, max: Double?) {
            self.p50 = p50
            self.p95 = p95
            self.max = max
        }

        public var json: JSONValue { .object([("p50", .optional(p50)), ("p95", .optional(p95)), ("max", .optional(max))]) }
    }

    public var windows: [Window]
    /// Succeeded / finished runs over the last hour (nil with no runs).
    public var successRate: Double?
    /// Run durations in seconds over the last hour.
    public var runDuration: Percentiles
    /// Seconds from eligible (`run_at`) to started, over the last hour.
    public var queueWait: Percentiles
    /// Succeeded and failed runs in each of the last 30 minutes, oldest first.
    public var perMinute: [(succeeded: Int, failed: Int)]

    public init(windows: [Window], successRate: Double?, runDuration: Percentiles, queueWait: Percentiles,
                perMinute: [(succeeded: Int, failed: Int)]) {
        self.windows = windows
        self.successRate = successRate
        self.runDuration = runDuration
        self.queueWait = queueWait
        self.perMinute = perMinute
    }

    public static func == (a: QueueStats, b: QueueStats) -> Bool {
        a.windows == b.windows && a.successRate == b.successRate && a.runDuration == b.runDuration && a.queueWait == b.queueWait
            && a.perMinute.map(\.succeeded) == b.perMinute.map(\.succeeded) && a.perMinute.map(\.failed) == b.perMinute.map(\.failed)
    }

    public var json: JSONValue {
        .object([
            ("throughput", .object(windows.map { w in
                ("last_\(w.minutes)m", .object([
                    ("completed", .int(w.succeeded)), ("failed", .int(w.failed)), ("cancelled", .int(w.cancelled)),
                    ("completed_per_min", .double((w.succeededPerMinute * 100).rounded() / 100)),
                    ("failed_per_min", .double((w.failedPerMinute * 100).rounded() / 100)),
                ]))
            })),
            ("success_rate", .optional(successRate.map { ($0 * 10000).rounded() / 10000 })),
            ("run_duration_seconds", runDuration.json),
            ("queue_wait_seconds", queueWait.json),
        ])
    }
}
