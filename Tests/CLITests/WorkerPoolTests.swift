import Foundation
@testable import QueueCore
@testable import QueueSQLite
import Testing
import TestSupport

/// The pool `worker start` leaves running: a supervisor keeps its size, `worker
/// stop` ends it (also while it is still starting), and stop signals are honoured
/// from the first instant.
@Suite struct WorkerPoolTests {
    /// Every live process of this sandbox's database (workers, supervisors).
    func poolProcesses(_ sandbox: QueueSandbox) -> [Int32] {
        TestProcesses.running(containing: sandbox.address).filter {
            TestProcesses.commandLine($0)?.contains(" worker ") ?? false
        }
    }

    @Test func aCrashedBackgroundWorkerIsReplacedAndStopEndsTheSupervisor() throws {
        let sandbox = try QueueSandbox(name: "pool-restart")
        // A file store always: it reads workers.log beside the database.
        let db = try sandbox.requireFileStore()
        defer { TestProcesses.kill(containing: sandbox.address); sandbox.cleanup() }
        let started = try sandbox.startWorkers(2)
        let supervisor = try #require(TestProcesses.parent(of: started[0].pid))
        #expect(TestProcesses.parent(of: started[1].pid) == supervisor)
        #expect(TestProcesses.commandLine(supervisor)?.contains("worker supervise") == true)
        kill(started[0].pid, SIGKILL)
        let replaced = try QueueSandbox.waitUntil(timeout: 10) {
            let workers = try sandbox.workers()
            return workers.count == 2 && !workers.contains { $0.pid == started[0].pid }
        }
        #expect(replaced, "the pool shrank: \((try? sandbox.workers()) ?? [])")
        let log = try String(contentsOfFile: db + "-logs/workers.log", encoding: .utf8)
        #expect(log.contains("pid \(started[0].pid) was killed by signal 9 (SIGKILL); starting a replacement in 0.5 s"), "\(log)")

        let stop = try sandbox.ok(["worker", "stop", "--timeout", "10"])
        #expect(stop.stdout == "stopped 2 worker(s)\n")
        #expect(TestProcesses.waitGone(supervisor, timeout: 2), "the supervisor outlived `worker stop`")
        #expect(poolProcesses(sandbox).isEmpty)
    }

    /// A worker that finds no queue (its database deleted while the supervisor
    /// restarted it) is not replaced, and the supervisor, left with no worker, ends
    /// instead of retrying forever.
    @Test func aWorkerThatFindsNoQueueIsNotReplaced() throws {
        let sandbox = try QueueSandbox(name: "pool-gone")
        // A file store always: the test deletes the file (and keeps its log folder).
        let db = try sandbox.requireFileStore()
        defer { TestProcesses.kill(containing: sandbox.address); sandbox.cleanup() }
        let started = try sandbox.startWorkers(1)
        let supervisor = try #require(TestProcesses.parent(of: started[0].pid))
        // The worker dies before it can notice the deletion; its replacement finds
        // no database.
        kill(started[0].pid, SIGSTOP)
        for suffix in ["", "-wal", "-shm"] { unlink(db + suffix) }
        kill(started[0].pid, SIGKILL)
        #expect(TestProcesses.waitGone(supervisor, timeout: 10), "the supervisor kept restarting workers of a deleted queue")
        let log = try String(contentsOfFile: db + "-logs/workers.log", encoding: .utf8)
        #expect(log.contains("found no queue at \(db); not replacing it"), "\(log)")
        #expect(poolProcesses(sandbox).isEmpty)
    }

    /// `worker stop` while `worker start --count 8` is still starting its workers:
    /// none is left running afterwards. The race is made certain by holding the
    /// database's write lock while the workers start: they cannot register yet,
    /// and `worker stop` comes while they wait.
    @Test func stopRacingStartLeavesNoWorkerRunning() throws {
        let sandbox = try QueueSandbox(name: "pool-race")
        // A file store always: it holds SQLite's write lock while the pool starts.
        let db = try sandbox.requireFileStore()
        defer { TestProcesses.kill(containing: sandbox.address); sandbox.cleanup() }
        try sandbox.ok(["config", "set", "kill-grace", "1"])   // creates the database before the race
        let start = try sandbox.spawn(["worker", "start", "--count", "8"])
        _ = QueueSandbox.waitUntil(timeout: 10) { workerProcesses(sandbox).count >= 1 }
        let lock = try WriteLockHolder(databasePath: db)
        _ = QueueSandbox.waitUntil(timeout: 10) { workerProcesses(sandbox).count >= 8 }
        let stop = Process()
        stop.executableURL = URL(fileURLWithPath: QueueSandbox.binaryPath)
        stop.arguments = ["--db", db, "worker", "stop", "--timeout", "20"]
        stop.standardOutput = FileHandle.nullDevice
        stop.standardError = FileHandle.nullDevice
        try stop.run()
        usleep(500_000)
        lock.release()
        stop.waitUntilExit()
        start.waitUntilExit()
        #expect(stop.terminationStatus == 0)
        let gone = QueueSandbox.waitUntil(timeout: 5) { poolProcesses(sandbox).isEmpty }
        #expect(gone, "still running after `worker stop`: \(poolProcesses(sandbox).compactMap(TestProcesses.commandLine))")
        #expect(try sandbox.workers().isEmpty)
    }

    func workerProcesses(_ sandbox: QueueSandbox) -> [Int32] {
        poolProcesses(sandbox).filter { TestProcesses.commandLine($0)?.contains("worker run") ?? false }
    }

    /// A stop signal while `worker start --foreground` waits for the database
    /// (another process holds its write lock) ends it gracefully, with a log line.
    @Test func stopSignalWhileWaitingForTheDatabaseIsGraceful() throws {
        let sandbox = try QueueSandbox(name: "pool-locked")
        // A file store always: it holds SQLite's write lock.
        let db = try sandbox.requireFileStore()
        defer { TestProcesses.kill(containing: sandbox.address); sandbox.cleanup() }
        try sandbox.ok(["config", "set", "kill-grace", "1"])   // creates the database
        let lock = try WriteLockHolder(databasePath: db)
        defer { lock.release() }
        for signal in [SIGTERM, SIGINT] {
            let foreground = try sandbox.spawn(["worker", "start", "--foreground"])
            // Once it catches the signal, and well inside its wait for the lock (10 s).
            #expect(QueueSandbox.waitUntil(timeout: 5) { TestProcesses.catches(signal, foreground.processIdentifier) })
            usleep(300_000)
            kill(foreground.processIdentifier, signal)
            let ended = QueueSandbox.waitUntil(timeout: 5) { !foreground.isRunning }
            if !ended { foreground.terminate() }
            foreground.waitUntilExit()
            #expect(ended, "signal \(signal) did not end the wait")
            #expect(foreground.terminationReason == .exit && foreground.terminationStatus == 0,
                    "signal \(signal): ended by \(foreground.terminationReason == .exit ? "exit" : "signal") \(foreground.terminationStatus)")
            let stderr = (try? String(contentsOfFile: sandbox.path("stderr.log"), encoding: .utf8)) ?? ""
            #expect(stderr.contains("stop signal received while waiting for the database; no worker was started"), "\(stderr)")
        }
    }
}

/// This test process holding a database's write lock (an open `BEGIN IMMEDIATE`)
/// until `release()`.
final class WriteLockHolder: @unchecked Sendable {
    private let releaseSignal = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private var released = false

    init(databasePath: String) throws {
        let store = try SQLiteJobStore(location: DatabaseLocation(path: databasePath))
        let held = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { [releaseSignal, done] in
            _ = try? store.write { _ in
                held.signal()
                releaseSignal.wait()
            }
            done.signal()
        }
        held.wait()
    }

    func release() {
        guard !released else { return }
        released = true
        releaseSignal.signal()
        done.wait()
    }
}
