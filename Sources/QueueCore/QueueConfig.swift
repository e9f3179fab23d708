/// The effective configuration: stored values over defaults.
public struct QueueConfig: Sendable, Equatable {
    public var values: [ConfigKey: Double]

    public init(values: [ConfigKey: Double] = [:]) { self.values = values }

    public func value(_ key: ConfigKey) -> Double? { values[key] ?? key.defaultValue }

    public var maxRetries: Int { Int(value(.maxRetries) ?? 3) }
    public var retryPolicy: RetryPolicy {
        RetryPolicy(base: value(.backoffBase) ?? 2, maxDelay: value(.backoffMax), jitter: value(.backoffJitter) ?? 0)
    }
    /// Default run timeout in seconds, nil for none.
    public var jobTimeout: Double? { value(.jobTimeout).flatMap { $0 > 0 ? $0 : nil } }
    public var leaseTimeoutSeconds: Double { value(.leaseTimeout) ?? 10 }
    public var outputLimitBytes: Int64 { Int64(value(.outputLimit) ?? 10_485_760) }
    public var killGraceSeconds: Double { value(.killGrace) ?? 2 }
    /// How long final jobs of each state are kept (nil: forever), for workers'
    /// background pruning.
    public var retention: [(state: JobState, seconds: Double)] {
        [(JobState.completed, ConfigKey.retainCompleted), (.dead, .retainDead), (.cancelled, .retainCancelled)]
            .compactMap { state, key in value(key).map { (state, $0) } }
    }
    /// Most jobs a worker claims in one transaction while its runs are short
    /// (`value` gives the key's default when none is set).
    public var claimBatch: Int { max(1, Int(value(.claimBatch) ?? 1)) }
}
