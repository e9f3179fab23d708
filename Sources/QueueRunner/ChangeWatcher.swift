import CQueueSys
import Foundation
import QueueCore

/// Sleeps until the queue may have changed, without polling the database: the
/// store's change signal (inotify on SQLite's write-ahead log, which every commit
/// by any process writes to, and on the doorbell; LISTEN on PostgreSQL),
/// optionally with a running job's output. A timer bounds every wait, so a missed
/// event costs at most `fallbackSeconds`.
public final class ChangeWatcher {
    private let signal: ChangeSignal?
    /// Longest sleep without an event.
    public static let fallbackSeconds = 1.0

    public init(store: any JobReader, watchingOutput: Bool = false) {
        signal = try? store.changeSignal(watchingOutput ? .anyChangeOrOutput : .anyChange)
    }

    /// Blocks until something changed or `seconds` passed (at most the fallback).
    public func wait(seconds: Double) {
        let bounded = max(0, min(Self.fallbackSeconds, seconds))
        guard let signal else {
            usleep(useconds_t(bounded * 1_000_000))
            return
        }
        signal.wait(seconds: bounded)
    }
}

/// Waits for jobs to reach a final state (completed, dead, cancelled), waking on
/// the queue's changes (see ``ChangeWatcher``).
public struct JobWaiter {
    public enum Outcome: Sendable, Equatable {
        /// Every job is final; in the order the ids were given.
        case finished([Job])
        /// The timeout passed first; the jobs as they were then.
        case timedOut([Job])
    }

    let store: any JobReader
    /// Shortest time between two looks at the jobs.
    static let minimumLookSeconds = 0.02

    public init(store: any JobReader) { self.store = store }

    /// Waits for `ids` (an unknown id is not-found, checked first). `timeout` nil
    /// waits as long as it takes.
    public func wait(ids: [String], timeout: Double?) throws -> Outcome {
        var seen = Set<String>()
        let ordered = ids.filter { seen.insert($0).inserted }
        let watcher = ChangeWatcher(store: store)
        let deadline = timeout.map { Monotonic.now() + $0 }
        var latest: [String: Job] = [:]
        var open = ordered
        while true {
            for job in try store.jobs(ids: open) { latest[job.id] = job }
            if let missing = ordered.first(where: { latest[$0] == nil }) {
                throw QueueError.notFound("no job with id '\(missing)'")
            }
            open = open.filter { !(latest[$0]?.state.isFinal ?? false) }
            let jobs = ordered.compactMap { latest[$0] }
            if open.isEmpty { return .finished(jobs) }
            let left = deadline.map { $0 - Monotonic.now() } ?? ChangeWatcher.fallbackSeconds
            if left <= 0 { return .timedOut(jobs) }
            watcher.wait(seconds: left)
            // A busy queue commits hundreds of times a second: look at most every 20 ms.
            usleep(UInt32(Self.minimumLookSeconds * 1_000_000))
        }
    }
}
