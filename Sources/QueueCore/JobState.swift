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
