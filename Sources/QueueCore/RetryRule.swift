/// Which failed runs may be retried, by exit code (the job fields `retry_on_exit`
/// and `no_retry_exit`).
///
/// A run that exited with a code in `noRetry` sends the job straight to `dead`
/// (say 2, a usage error no retry will fix). When `retryOn` is given, only runs
/// that exited with one of its codes are retried (say 75, EX_TEMPFAIL), and every
/// other exit code is final. Runs that ended without an exit code (killed by a
/// signal, timed out, interrupted by a lost worker) are retried as before: the rule
/// only reads exit codes. Retries are still bounded by `max_retries`.
public struct RetryRule: Sendable, Equatable {
    public var retryOn: Set<Int>?
    public var noRetry: Set<Int>

    public init(retryOn: Set<Int>? = nil, noRetry: Set<Int> = []) {
        self.retryOn = retryOn
        self.noRetry = noRetry
    }

    /// Whether a failed run that exited with `exitCode` may be retried.
    public func allowsRetry(exitCode: Int?) -> Bool {
        guard let exitCode else { return true }
        if noRetry.contains(exitCode) { return false }
        if let retryOn { return retryOn.contains(exitCode) }
        return true
    }
}
