/// The effective configuration: stored values over defaults.
public struct QueueConfig: Sendable, Equatable {
    public var values: [ConfigKey: Double]

    public init(values: [ConfigKey: Double] = [:]) { self.values = values }

    public func value(_ key: ConfigKey) -> Double? { values[key] ?? key.defaultValue }

    /// The value of a key that has a default (``ConfigKey/defaultValue``), so
    /// always a value: the defaults live there alone.
    private func number(_ key: ConfigKey) -> Double {
        guard let value = value(key) else { preconditionFailure("config key \(key.rawValue) has no default") }
        return value
    }

    public var maxRetries: Int { Int(number(.maxRetries)) }
    public var retryPolicy: RetryPolicy {
        RetryPolicy(base: number(.backoffBase), maxDelay: value(.backoffMax), jitter: number(.backoffJitter))
    }
    /// Default run timeout in seconds, nil for none.
    public var jobTimeout: Double? { value(.jobTimeout).flatMap { $0 > 0 ? $0 : nil } }
    public var leaseTimeoutSeconds: Double { number(.leaseTimeout) }
    public var outputLimitBytes: Int64 { Int64(number(.outputLimit)) }
    public var killGraceSeconds: Double { number(.killGrace) }
    /// How long final jobs of each state are kept (nil: forever), for workers'
    /// background pruning.
    public var retention: [(state: JobState, seconds: Double)] {
        [(JobState.completed, ConfigKey.retainCompleted), (.dead, .retainDead), (.cancelled, .retainCancelled)]
            .compactMap { state, key in value(key).map { (state, $0) } }
    }
    /// Most jobs a worker claims in one transaction while its runs are short.
    public var claimBatch: Int { max(1, Int(number(.claimBatch))) }
}
