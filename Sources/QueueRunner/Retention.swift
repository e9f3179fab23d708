import Logging
import QueueCore

/// Background pruning for the `retain-completed`, `retain-dead` and
/// `retain-cancelled` config keys. Each worker's heartbeat thread deletes at most
/// one batch (200 jobs) per state every ``intervalSeconds``: a little at a time,
/// never holding the write lock for long, and nothing at all while the keys are
/// unset (the default: keep forever).
struct Retention {
    static let intervalSeconds = 10.0
    /// The first tick prunes at once (a worker that starts catches up).
    private var nextAt = 0.0

    mutating func tick(store: any JobStore, config: QueueConfig, logger: Logger) {
        let now = Monotonic.now()
        guard now >= nextAt else { return }
        nextAt = now + Self.intervalSeconds
        for (state, seconds) in config.retention {
            do {
                let deleted = try store.pruneBatch(state: state, updatedBefore: Timestamp.now().adding(seconds: -seconds))
                if deleted > 0 { logger.info("retention: deleted \(deleted) \(state.rawValue) job(s) older than \(DurationText.format(seconds))") }
            } catch {
                logger.error("retention: \(error)")
            }
        }
    }
}
