import QueueCore
import Synchronization

/// The overview's chart, runs per minute over the last 30 minutes, read in full
/// once per clock minute: within a minute only the current minute's bar and the
/// last-60-seconds counts are read again (a range of at most two minutes of runs),
/// while the closed minutes keep the figures read when the minute began. So a
/// busy queue's 30 minutes of history (37,000 runs at 21 a second) are not read
/// again for every render. A closed minute that changes afterwards (runs pruned,
/// a run recorded with an earlier time by a host whose clock lags) shows the
/// change from the next minute on.
final class ThroughputCache: Sendable {
    private let minutes: Int
    private let cached = Mutex<(minute: Int64, throughput: Throughput)?>(nil)

    init(minutes: Int = 30) {
        self.minutes = max(1, minutes)
    }

    func throughput(_ store: any JobReader, now: Timestamp) throws -> Throughput {
        let minute = now.milliseconds / 60_000
        if let held = cached.withLock({ $0 }), held.minute == minute {
            let recent = try store.throughput(now: now, minutes: 1)
            var result = held.throughput
            result.succeededLastMinute = recent.succeededLastMinute
            result.failedLastMinute = recent.failedLastMinute
            result.succeededPerMinute[minutes - 1] = recent.succeededPerMinute.first ?? 0
            result.failedPerMinute[minutes - 1] = recent.failedPerMinute.first ?? 0
            return result
        }
        let full = try store.throughput(now: now, minutes: minutes)
        guard full.succeededPerMinute.count == minutes, full.failedPerMinute.count == minutes else { return full }
        cached.withLock { held in
            if (held?.minute ?? Int64.min) <= minute { held = (minute, full) }
        }
        return full
    }
}
