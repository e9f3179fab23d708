import Foundation

/// Exponential backoff: after the n-th failed run, the next run waits `base^n`
/// seconds, capped at `maxDelay` (by default one day, `backoff-max`), less a random
/// part of up to `jitter` of it (config `backoff-jitter`, 0 by default): jobs that
/// failed together (a service was down) then come back spread out instead of all at once.
public struct RetryPolicy: Sendable, Equatable {
    public var base: Double
    public var maxDelay: Double?
    /// Fraction of each delay that is randomised (0–1).
    public var jitter: Double

    /// The default cap on one wait: a day. Without a cap, base 2 reaches a day after
    /// 17 failed runs and the values' own limit (1e9 s, about 31.7 years) soon after,
    /// which is never what anyone wants from a retry.
    public static let defaultMaxDelaySeconds: Double = 86_400

    public init(base: Double, maxDelay: Double? = nil, jitter: Double = 0) {
        self.base = base
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// The delay with jitter applied: `delay × (1 − jitter × unit)` for a random
    /// `unit` in 0..<1, so never longer than the exact delay (the cap holds).
    public func jitteredDelay(afterFailedRuns failedRuns: Int, unit: Double = Double.random(in: 0..<1)) -> Double {
        let exact = delay(afterFailedRuns: failedRuns)
        guard jitter > 0 else { return exact }
        return exact * (1 - min(1, jitter) * unit)
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
