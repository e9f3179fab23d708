import Foundation
import QueueCore

/// Pausing queues as `queue pause` promises it: once `pause` returns, no job of
/// those queues starts (jobs already running finish).
public enum QueuePause {
    /// Pauses `names` (nil: every known queue) and returns the queues paused.
    ///
    /// Claims check the pause in their transaction, so no claim after the pause's
    /// commit takes a job of a paused queue. A job a worker claimed ahead just
    /// before may still start without a new transaction, but only while its claim
    /// is younger than `ClaimAhead.freshSeconds`; so when such jobs may exist
    /// (the queues have jobs held by workers), this waits that long before
    /// returning.
    @discardableResult
    public static func pause(_ names: [String]?, store: any JobStore) throws -> [String] {
        let paused = try store.setPaused(true, queues: names)
        if try store.processingCount(queues: paused) > 0 {
            Thread.sleep(forTimeInterval: ClaimAhead.freshSeconds + 0.05)
        }
        return paused
    }
}
