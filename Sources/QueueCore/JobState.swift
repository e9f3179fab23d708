/// Where a job is in its lifecycle.
///
/// ```
/// pending ──claim──▶ processing ──exit 0──▶ completed
///    ▲                   │
///    │                   ├─fail, retries left──▶ failed ──run_at reached──▶ (claimed again)
///    └──dlq retry── dead ◀┘ fail, retries exhausted
/// ```
public enum JobState: String, CaseIterable, Sendable, Codable {
    case pending
    case processing
    case completed
    case failed
    case dead

    /// States a worker may claim from (a `failed` job waits for its `run_at`).
    public static let claimable: [JobState] = [.pending, .failed]
}

/// The colour each state is shown in, shared by the CLI and the monitor (always
/// next to the state's name, never instead of it).
public enum StateColor: Sendable {
    case yellow, blue, green, magenta, red

    /// ANSI SGR foreground code.
    public var ansiCode: Int {
        switch self {
        case .yellow: return 33
        case .blue: return 34
        case .green: return 32
        case .magenta: return 35
        case .red: return 31
        }
    }
}

extension JobState {
    public var color: StateColor {
        switch self {
        case .pending: return .yellow
        case .processing: return .blue
        case .completed: return .green
        case .failed: return .magenta
        case .dead: return .red
        }
    }
}
