/// Where a job is in its lifecycle.
///
/// ```
///   blocked ──dependencies completed──▶ pending (or scheduled, if its run_at is ahead)
///      │
/// scheduled ──run_at reached──▶ pending ──claim──▶ processing ──exit 0──▶ completed
///                                 ▲  ▲                 │  └──cancel──▶ cancelled
///        failed ──run_at reached──┘  │                 ├─fail, retries left (and the exit code allows)──▶ failed
///                                    └──dlq retry── dead ◀┘ fail, retries exhausted
///
///   pending, scheduled, failed, blocked ──cancel──▶ cancelled
///   blocked ──a dependency ended dead or cancelled──▶ cancelled
/// ```
///
/// Which job a worker claims next, in one paragraph: only `pending` jobs are
/// claimed, and `pending` means due (its `run_at` has passed); only from the
/// queues the worker serves that are open (not paused, under their concurrency
/// limit), taken in turns across queues (see `QueueTurns`); within a queue the
/// highest priority first, then the earliest `run_at`, then the oldest. Work that
/// is not due yet is never `pending`: a job enqueued for later is `scheduled`, a
/// job waiting for a retry is `failed`, and each claim transaction first promotes
/// the ones whose `run_at` has come (earliest first, a bounded number at a time)
/// to `pending`. So a claim reads only due work, however much waits for later.
/// A state that waits for something else than a time (dependencies, …) keeps its
/// jobs out of both; when its wait ends it moves a job to `pending`, or to
/// `scheduled` if its `run_at` is still ahead. `blocked` is that state for
/// `depends_on`: it is released in the transaction that completes its last
/// dependency.
///
/// `completed`, `dead` and `cancelled` are final: nothing moves a job out of them but
/// an explicit `dlq retry` (dead only); `requeue` copies a final job into a new one.
public enum JobState: String, CaseIterable, Sendable, Codable {
    case pending
    /// Waiting for its dependencies (`depends_on`) to complete; not claimable.
    case blocked
    case processing
    case completed
    case failed
    case dead
    /// Enqueued for a later `run_at`; becomes `pending` when that time comes.
    case scheduled
    /// Stopped on request, or because a dependency ended dead or cancelled.
    case cancelled

    /// The one state a worker claims from (see the rule above).
    public static let claimable: [JobState] = [.pending]
    /// States whose jobs wait for their `run_at` and are promoted to `pending` then.
    public static let waitingForTime: [JobState] = [.scheduled, .failed]

    /// States a job never leaves on its own.
    public static let final: Set<JobState> = [.completed, .dead, .cancelled]

    public var isFinal: Bool { Self.final.contains(self) }
}

/// The colour each state is shown in, shared by the CLI and the monitor (always
/// next to the state's name, never instead of it).
public enum StateColor: Sendable, CaseIterable {
    case yellow, blue, green, magenta, red, cyan, white

    /// ANSI SGR foreground code.
    public var ansiCode: Int {
        switch self {
        case .yellow: return 33
        case .blue: return 34
        case .green: return 32
        case .magenta: return 35
        case .red: return 31
        case .cyan: return 36
        case .white: return 37
        }
    }
}

extension JobState {
    public var color: StateColor {
        switch self {
        case .pending, .blocked: return .yellow
        case .processing: return .blue
        case .completed: return .green
        case .failed: return .magenta
        case .dead: return .red
        case .scheduled: return .cyan
        case .cancelled: return .white
        }
    }
}
