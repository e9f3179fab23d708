/// The rules that decide a job's next state, kept apart from any store so every
/// store applies the same ones. A store applies a decision in one short write
/// transaction, fenced on what it read (a run's end only while its worker still
/// holds the job at that attempt).

/// What `queuectl cancel` does to a job, by its state.
public enum Cancellation: Sendable, Equatable {
    /// Waiting (pending, scheduled for later, blocked on dependencies, or failed and waiting to be
    /// retried): the job becomes `cancelled` at once.
    case cancelNow
    /// Running: the job is marked; its worker notices within a second (its
    /// heartbeat reads the mark), stops the run's process tree (SIGTERM, then
    /// SIGKILL after `kill-grace`) and records the run as `cancelled`. The job ends
    /// `cancelled` even if the run fails or its worker dies meanwhile; only a run
    /// that succeeded first leaves it `completed` (see ``RunEnding``).
    case stopRun
    /// Already final: nothing changes, and the caller is told the state.
    case conflict(JobState)

    public init(state: JobState) {
        switch state {
        case .pending, .scheduled, .blocked, .failed: self = .cancelNow
        case .processing: self = .stopRun
        case .completed, .dead, .cancelled: self = .conflict(state)
        }
    }

    /// `last_error` of a job cancelled on request.
    public static let requestedReason = "cancelled by request"

    /// `last_error` of a job cancelled because a job it depends on will never complete.
    public static func dependencyReason(dependency: String, state: JobState) -> String {
        "dependency \(dependency) ended \(state.rawValue)"
    }
}

/// Where a job goes when a run ends (or is interrupted by a lost worker).
public struct RunEnding: Sendable, Equatable {
    public var state: JobState
    /// The next `run_at` when the job waits to be retried.
    public var retryAt: Timestamp?
    /// The job's `last_error`.
    public var error: String?

    /// The decision for a run of `job` that ended with `outcome`.
    ///
    /// - A success completes the job, even if a cancel was requested meanwhile:
    ///   the work was done.
    /// - Otherwise a requested cancel ends the job `cancelled`: it is never retried.
    /// - A failure is retried after the backoff (the job's own, else the config's,
    ///   with jitter) while retries are left and the exit code allows it
    ///   (``RetryRule``); else the job is `dead`.
    public static func decide(job: Job, outcome: RunOutcome, exitCode: Int?, error: String?, cancelRequested: Bool,
                              policy: RetryPolicy, now: Timestamp) -> RunEnding {
        if outcome == .succeeded { return RunEnding(state: .completed, retryAt: nil, error: nil) }
        if cancelRequested || outcome == .cancelled {
            return RunEnding(state: .cancelled, retryAt: nil, error: Cancellation.requestedReason)
        }
        if RetryPolicy.hasRetriesLeft(attempts: job.attempts, maxRetries: job.maxRetries),
           job.options.retryRule.allowsRetry(exitCode: exitCode) {
            let delay = job.options.retryPolicy(over: policy).jitteredDelay(afterFailedRuns: job.attempts)
            return RunEnding(state: .failed, retryAt: now.adding(seconds: delay), error: error)
        }
        return RunEnding(state: .dead, retryAt: nil, error: error)
    }

    /// Both endings of a run, decided before the store reads whether a cancel was
    /// requested: the store applies one or the other in the same statement that
    /// checks the fence, so a cancel racing the run's end is settled by whichever
    /// commits first, and the job ends in exactly one final state.
    public static func alternatives(job: Job, result: RunResult, policy: RetryPolicy,
                                    now: Timestamp) -> (ifRunning: RunEnding, ifCancelRequested: RunEnding) {
        let error = result.outcome == .succeeded ? nil : result.error
        let plain = decide(job: job, outcome: result.outcome, exitCode: result.exitCode, error: error, cancelRequested: false,
                           policy: policy, now: now)
        let cancelled = decide(job: job, outcome: result.outcome, exitCode: result.exitCode, error: error, cancelRequested: true,
                               policy: policy, now: now)
        return (plain, cancelled)
    }
}

/// How a job's dependencies stand when it is enqueued.
public enum DependencyStart: Sendable, Equatable {
    /// No dependencies, or all completed: the job is `pending` at once.
    case ready
    /// Some dependency is not final yet: the job is `blocked` until all complete.
    case blocked
    /// A dependency ended dead or cancelled: the job can never run; it is enqueued
    /// `cancelled` with a reason naming that dependency.
    case doomed(dependency: String, state: JobState)

    /// Decides from each dependency's id and current state.
    public init(dependencies: [(id: String, state: JobState)]) {
        var blocked = false
        for (id, state) in dependencies {
            switch state {
            case .completed: continue
            case .dead, .cancelled:
                self = .doomed(dependency: id, state: state)
                return
            default: blocked = true
            }
        }
        self = blocked ? .blocked : .ready
    }
}

extension Job {
    /// A new job with job control (unique key, dependencies, options, tags): takes
    /// those fields from its spec and its first state from its dependencies'
    /// states, `dependencies` in the spec's order (see ``DependencyStart``).
    public mutating func applyControl(of spec: JobSpec, dependencies: [(id: String, state: JobState)]) {
        switch DependencyStart(dependencies: dependencies) {
        case .ready: break   // pending, or scheduled when its run_at is ahead
        case .blocked: state = .blocked
        case let .doomed(dependency, dependencyState):
            state = .cancelled
            lastError = Cancellation.dependencyReason(dependency: dependency, state: dependencyState)
        }
        options = spec.options
        tags = spec.tags
        uniqueKey = spec.uniqueKey
        dependsOn = spec.dependsOn
        requeuedFrom = spec.requeuedFrom
    }
}

extension QueueError {
    /// A `depends_on` naming no job; `position` says which input (e.g. " (line 3)").
    public static func unknownDependency(_ id: String, position: String) -> QueueError {
        .invalidInput("\"depends_on\": no job with id '\(id)'\(position); a dependency must exist or come earlier in the same batch; nothing was enqueued")
    }
}
