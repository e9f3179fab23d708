import Foundation

/// Exponential backoff: after the n-th failed run, the next run waits `base^n`
/// seconds, capped at `maxDelay` (by default one day, `backoff-max`).
public struct RetryPolicy: Sendable, Equatable {
    public var base: Double
    public var maxDelay: Double?

    /// The default cap on one wait: a day. Without a cap, base 2 reaches a day after
    /// 17 failed runs and the values' own limit (1e9 s, about 31.7 years) soon after,
    /// which is never what anyone wants from a retry.
    public static let defaultMaxDelaySeconds: Double = 86_400

    public init(base: Double, maxDelay: Double? = nil) {
        self.base = base
        self.maxDelay = maxDelay
    }

    /// Seconds to wait after `failedRuns` failed runs (1 → base, 2 → base², …).
    public func delay(afterFailedRuns failedRuns: Int) -> Double {
        let raw = pow(base, Double(max(1, failedRuns)))
        let bounded = raw.isFinite ? raw : Double.greatestFiniteMagnitude
        return min(bounded, maxDelay ?? bounded, 1e9)
    }

    /// Whether a job that has started `attempts` runs may run again.
    public static func hasRetriesLeft(attempts: Int, maxRetries: Int) -> Bool {
        attempts < maxRetries + 1
    }
}
