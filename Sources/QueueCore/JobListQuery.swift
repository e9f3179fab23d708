/// A list of jobs as the monitor and `list` show it: which jobs, in which order.
public struct JobListQuery: Equatable, Sendable {
    /// How a job list is ordered on screen.
    public enum Order: Sendable {
        /// Newest first (insertion order, reversed).
        case newest
        /// Oldest first (insertion order): `list`'s default.
        case oldest
        /// Most recently changed first (`updated_at`, then newest): for the dead
        /// letter queue, the most recently died first.
        case recentlyChanged
        /// The order workers will claim them in (priority, then `run_at`, then FIFO).
        /// Only meaningful for `pending`; other states fall back to newest.
        case claim
    }

    /// Jobs in this state only (nil: every state).
    public var state: JobState?
    /// Case-insensitive text the id or command (and with `matchErrors`, the last
    /// error) must contain; empty matches everything.
    public var filter: String
    public var order: Order
    public var matchErrors: Bool

    public init(state: JobState?, filter: String = "", order: Order = .newest, matchErrors: Bool = false) {
        self.state = state
        self.filter = filter
        self.order = order
        self.matchErrors = matchErrors
    }

    /// A filter starting with this names a queue (`/queue:mail` in the console).
    public static let queuePrefix = "queue:"

    /// Claim order, when it applies to the state.
    public var usesClaimOrder: Bool { order == .claim && state == .pending }
}

/// One screenful of a job list, and the size of the whole list.
public struct JobPage: Sendable, Equatable {
    public var jobs: [Job]
    /// Jobs in the whole list (not just this page).
    public var total: Int
    /// Position of `jobs[0]` in the whole list.
    public var offset: Int

    public init(jobs: [Job], total: Int, offset: Int) {
        self.jobs = jobs
        self.total = total
        self.offset = offset
    }
}

/// Finished runs per minute, for the monitor's header (the cheap part of
/// ``QueueStats``: no percentiles).
public struct Throughput: Sendable, Equatable {
    /// Runs that succeeded and failed (any other outcome) in the last 60 seconds.
    public var succeededLastMinute = 0
    public var failedLastMinute = 0
    /// Per clock minute, oldest first, the current minute last.
    public var succeededPerMinute: [Int] = []
    public var failedPerMinute: [Int] = []

    public init() {}
}

