import Foundation
@testable import QueueCore
@testable import QueueSQLite

/// A fresh SQLite store (the concrete type, for tests of its internals) in its own temporary folder, with a fixed clock the tests
/// move by hand (every store call takes `now`), and helpers to register workers.
final class SQLiteFixture: @unchecked Sendable {
    let directory: String
    let location: DatabaseLocation
    let store: SQLiteJobStore
    /// The tests' clock: 2027-01-15T08:00:00Z, advanced explicitly.
    var now = Timestamp(milliseconds: 1_800_000_000_000)

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        location = DatabaseLocation(path: directory + "/queue.db")
        store = try SQLiteJobStore(location: location)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func advance(seconds: Double) { now = now.adding(seconds: seconds) }

    /// Registers a worker row (as a worker process would) and returns it.
    @discardableResult
    func worker(_ id: String) throws -> WorkerRecord {
        let record = WorkerRecord(id: id, pid: Int(getpid()), pidStartTicks: 1, hostname: "store-tests.invalid",
                                  startedAt: now, heartbeatAt: now)
        try store.registerWorker(record)
        return record
    }

    /// The stored worker row (with its current heartbeat).
    func workerRow(_ id: String) throws -> WorkerRecord? {
        try store.workers().first { $0.id == id }
    }

    @discardableResult
    func enqueue(_ id: String, _ command: String = "true", maxRetries: Int? = nil, priority: Int = 0,
                 delay: Double? = nil, runAt: Timestamp? = nil) throws -> Job {
        try store.enqueue([JobSpec(id: id, command: command, maxRetries: maxRetries, priority: priority,
                                   runAt: runAt, delaySeconds: delay)], now: now)[0]
    }

    /// Claims for `workerID` and fails the test (by throwing) unless a job was claimed.
    func claim(_ workerID: String) throws -> ClaimedJob {
        let outcome = try store.claim(workerID: workerID, now: now)
        guard case let .claimed(claimed) = outcome else { throw FixtureError("expected a claim, got \(outcome)") }
        return claimed
    }

    /// Ids claimed one after another by `workerID` (finishing each), until none is left.
    func drainOrder(_ workerID: String) throws -> [String] {
        var order: [String] = []
        while case let .claimed(claimed) = try store.claim(workerID: workerID, now: now) {
            order.append(claimed.job.id)
            _ = try store.finish(claimed, workerID: workerID, result: RunResult(outcome: .succeeded, exitCode: 0), now: now)
        }
        return order
    }

    /// Counts per state computed from the jobs themselves, to check the trigger-kept counters.
    func actualCounts() throws -> [JobState: Int] {
        var result: [JobState: Int] = [:]
        for job in try store.jobs(state: nil, limit: 1_000_000, offset: 0) { result[job.state, default: 0] += 1 }
        return result
    }

    func assertCountsConsistent() throws -> Bool {
        let kept = try store.counts()
        let actual = try actualCounts()
        return JobState.allCases.allSatisfy { kept[$0] == actual[$0, default: 0] }
    }

    static let success = RunResult(outcome: .succeeded, exitCode: 0)
    static let failure = RunResult(outcome: .failed, exitCode: 1, error: "exit code 1")
}

/// Holds `holder`'s write lock on another thread until `release` is signalled;
/// returns once the lock is taken, with a semaphore signalled when it is let go.
func holdWriteLock(_ holder: SQLiteJobStore, until release: DispatchSemaphore) -> DispatchSemaphore {
    let taken = DispatchSemaphore(value: 0)
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        _ = try? holder.write { _ in
            taken.signal()
            release.wait()
        }
        done.signal()
    }
    taken.wait()
    return done
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
