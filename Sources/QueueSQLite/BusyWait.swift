import QueueCore
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
        var deadline = 0.0
    }
    private let state: Mutex<State>

    /// Shortest and longest sleep between two tries, in microseconds.
    static let firstDelay: UInt32 = 20
    static let longestDelay: UInt32 = 2_000

    init(timeout: Double) {
        state = Mutex(State(timeout: timeout))
    }

    /// Runs `body` with waits giving up after `seconds` instead (a write only worth
    /// doing if the database is free).
    func withTimeout<T>(_ seconds: Double, _ body: () throws -> T) rethrows -> T {
        let usual = state.withLock { state in
            defer { state.timeout = seconds }
            return state.timeout
        }
        defer { state.withLock { $0.timeout = usual } }
        return try body()
    }

    /// SQLite's busy callback: `true` to try again (after sleeping), `false` to
    /// give up with `SQLITE_BUSY`. `tries` is 0 on the first call of each wait.
    func shouldRetry(tries: Int) -> Bool {
        if StoreWaits.shouldGiveUp { return false }
        let now = Monotonic.now()
        let expired = state.withLock { state -> Bool in
            if tries == 0 { state.deadline = now + max(0, state.timeout) }
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
}
