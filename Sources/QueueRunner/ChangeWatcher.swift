import CQueueSys
import Foundation
import QueueCore
import QueueSQLite

/// Sleeps until the queue may have changed, without polling the database: inotify
/// on the database's write-ahead log (every commit, by any process, writes to it),
/// on the doorbell, and optionally on the logs folder (a running job's output). A
/// timer bounds every wait, so a missed event costs at most `fallbackSeconds`.
public final class ChangeWatcher {
    private let inotifyFD: Int32
    /// Longest sleep without an event.
    public static let fallbackSeconds = 1.0

    public init(location: DatabaseLocation, watchingLogs: Bool = false) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        inotifyFD = fd
        guard fd >= 0 else { return }
        var paths = [location.databasePath + "-wal", location.bellPath]
        if watchingLogs { paths.append(location.logsDirectory) }
        for path in paths { _ = inotify_add_watch(fd, path, UInt32(IN_MODIFY | IN_ATTRIB | IN_CREATE)) }
    }

    deinit { if inotifyFD >= 0 { close(inotifyFD) } }

    /// Blocks until something changed or `seconds` passed (at most the fallback).
    public func wait(seconds: Double) {
        let ms = Int32(max(0, min(Self.fallbackSeconds, seconds) * 1000).rounded(.up))
        guard inotifyFD >= 0 else {
            usleep(useconds_t(ms) * 1000)
            return
        }
        var fds = [pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0)]
        if poll(&fds, 1, ms) > 0 {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while read(inotifyFD, &buffer, buffer.count) > 0 {}
        }
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

    let store: SQLiteJobStore
    /// Shortest time between two looks at the jobs.
    static let minimumLookSeconds = 0.02

    public init(store: SQLiteJobStore) { self.store = store }

    /// Waits for `ids` (an unknown id is not-found, checked first). `timeout` nil
    /// waits as long as it takes.
    public func wait(ids: [String], timeout: Double?) throws -> Outcome {
        var seen = Set<String>()
        let ordered = ids.filter { seen.insert($0).inserted }
        let watcher = ChangeWatcher(location: store.location)
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
