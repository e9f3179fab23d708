import Foundation
import Synchronization

/// The busy handler of every queuectl connection: what a connection does when
/// another process holds the write lock.
///
/// SQLite's own handler (`busy_timeout`) sleeps 1, 2, 5, 10… ms between tries.
/// Workers' transactions hold the lock for a fraction of a millisecond, so with
/// several busy workers a writer that finds the lock taken slept ten times longer
/// than the wait it needed, once every few jobs. This one starts at 20 µs and
/// doubles up to 2 ms, with the same overall timeout.
final class BusyWait: Sendable {
    private struct State {
        var timeout: Double
        var deadline: UInt64 = 0
    }
    private let state: Mutex<State>

    /// Shortest and longest sleep between two tries, in microseconds.
    static let firstDelay: UInt32 = 20
    static let longestDelay: UInt32 = 2_000

    init(timeout: Double) {
        state = Mutex(State(timeout: timeout))
    }

    /// How long a waiting write gives up after (used by later waits).
    var timeout: Double {
        get { state.withLock { $0.timeout } }
        set { state.withLock { $0.timeout = newValue } }
    }

    /// SQLite's busy callback: `true` to try again (after sleeping), `false` to
    /// give up with `SQLITE_BUSY`. `tries` is 0 on the first call of each wait.
    func shouldRetry(tries: Int) -> Bool {
        let now = Self.monotonicNanoseconds()
        let expired = state.withLock { state -> Bool in
            if tries == 0 { state.deadline = now + UInt64(max(0, state.timeout) * 1e9) }
            return now >= state.deadline
        }
        if expired { return false }
        usleep(Self.delay(afterTries: tries))
        return true
    }

    /// The sleep before try `tries + 1`, in microseconds.
    static func delay(afterTries tries: Int) -> UInt32 {
        let doublings = UInt32(min(max(tries, 0), 16))
        return min(firstDelay << doublings, longestDelay)
    }

    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
