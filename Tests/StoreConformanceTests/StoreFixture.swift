import Foundation
import QueueCore
import QueueStores
import TestSupport

/// A fresh, empty queue in the store the suite runs against (see `TestDatabase`):
/// a SQLite file in a temporary folder, or a schema of its own on the PostgreSQL
/// server `QUEUECTL_TEST_DB` names. Tests reach it through the store capabilities
/// only (`any JobStore`), so every store passes the same tests.
///
/// The clock is the tests': every store call takes `now`, and the fixture moves it
/// by hand. (A server store judges lease expiry on its own clock: tests of
/// `expiredWorkers` with this clock belong with the SQLite tests.)
final class StoreFixture: @unchecked Sendable {
    let address: StoreAddress
    let store: any JobStore
    /// The tests' clock: 2027-01-15T08:00:00Z, advanced explicitly.
    var now = Timestamp(milliseconds: 1_800_000_000_000)
    private let folder: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        address = try StoreAddress.resolve(explicit: TestDatabase.newQueueAddress(folder: folder))
        store = try StoreOpener.open(address, .command(creating: true))
    }

    deinit {
        TestDatabase.removeQueue(address.argument)
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Another connection to the same queue, opened for `use`, as another process
    /// (a worker, a command) would open it.
    func connection(_ use: StoreOpener.Use = .worker) throws -> any JobStore {
        try StoreOpener.open(address, use)
    }

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
        guard case let .claimed(claimed) = outcome else { throw TestFailure("expected a claim, got \(outcome)") }
        return claimed
    }

    /// One transaction between runs of `workerID`: records `results`, gives back
    /// `givingBack`, claims up to `limit`.
    func settle(_ results: [FinishedRun] = [], givingBack: [ClaimedJob] = [], limit: Int, worker: String = "w1",
                jobsDone: Int? = nil) throws -> Settlement {
        try store.settle(results, givingBack: givingBack, request: ClaimRequest(workerID: worker, limit: limit, now: now),
                         jobsDone: jobsDone)
    }

    /// Releases `worker` as recovery does, counting every run it held as started.
    @discardableResult
    func release(_ worker: WorkerRecord, _ loss: WorkerLoss = .processExited) throws -> [InterruptedRun] {
        try store.releaseWorker(worker, loss: loss, startedThrough: nil, now: now) ?? []
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

    /// Counts per state computed from the jobs themselves, to check the kept counters.
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

/// A value shared with another thread.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
