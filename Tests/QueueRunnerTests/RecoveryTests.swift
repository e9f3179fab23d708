import Foundation
import Testing
import QueueCore
import QueueSQLite
import TestSupport
@testable import QueueRunner

/// Recovery reads a dead worker's running-job file to tell the jobs it started from
/// those it had claimed ahead and never started.
///
/// On a SQLite file always, whatever QUEUECTL_TEST_DB says: these tests fake a
/// stalled worker with heartbeats in the past on this process's clock, which only
/// the SQLite store judges leases by (a server store uses its own clock; recovery
/// through the store's lease side is in StoreConformanceTests).
@Suite struct RecoveryTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recovery-\(UUID().uuidString.prefix(8))").path

    /// A pid that belonged to a process that has exited.
    func deadPID() throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return Int(process.processIdentifier)
    }

    @Test func aDeadWorkersJobsClaimedAheadGoBackUncounted() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteJobStore(location: DatabaseLocation(path: directory + "/queue.db"))
        _ = try store.enqueue(try ["a", "b", "c"].map { try JobSpec(id: $0, command: "true", maxRetries: 0) }, now: .now())
        let now = Timestamp.now()
        let worker = WorkerRecord(id: "w-dead", pid: try deadPID(), pidStartTicks: 1, hostname: ProcessIdentity.hostname,
                                  startedAt: now, heartbeatAt: now)
        try store.registerWorker(worker)
        let settled = try store.settle([], workerID: worker.id, claimLimit: 3, now: now)
        guard case let .claimed(a) = settled.next else { Issue.record("nothing claimed"); return }
        #expect(settled.ahead.map(\.job.id) == ["b", "c"])
        // The worker started a (and died running it); b and c never started.
        let file = try RunningJobFile(location: store.location, workerID: worker.id)
        file.started(runID: a.runID)

        let report = try Recovery.sweep(store: store)
        #expect(report.releasedWorkers == ["w-dead"])
        #expect(report.interrupted.filter(\.started).map(\.jobID) == ["a"])
        // What a worker's heartbeat thread logs for that sweep.
        #expect(Heartbeat.describe(report) == [
            "released worker w-dead (presumed dead): interrupted the run of job a; gave back 2 jobs it had claimed ahead"])
        #expect(try store.job(id: "a").state == .dead)
        #expect(try store.runs(jobID: "a").first?.outcome == .interrupted)
        for id in ["b", "c"] {
            let job = try store.job(id: id)
            #expect(job.state == .pending && job.attempts == 0 && job.workerID == nil)
            #expect(try store.runs(jobID: id).isEmpty)
        }
        #expect(!FileManager.default.fileExists(atPath: file.path))
    }

    @Test func aLiveWorkerWhoseLeaseExpiredHasEveryRunCounted() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteJobStore(location: DatabaseLocation(path: directory + "/queue.db"))
        try store.setConfig(.leaseTimeout, 10)
        _ = try store.enqueue(try ["a", "b"].map { try JobSpec(id: $0, command: "true", maxRetries: 0) }, now: .now())
        // This test process stands for a stalled worker: alive, no heartbeat for 60 s.
        let stale = Timestamp.now().adding(seconds: -60)
        let worker = WorkerRecord(id: "w-stalled", pid: ProcessIdentity.currentPID, pidStartTicks: ProcessIdentity.currentStartTicks,
                                  hostname: ProcessIdentity.hostname, startedAt: stale, heartbeatAt: stale)
        try store.registerWorker(worker)
        let settled = try store.settle([], workerID: worker.id, claimLimit: 2, now: .now())
        guard case let .claimed(a) = settled.next else { Issue.record("nothing claimed"); return }
        try RunningJobFile(location: store.location, workerID: worker.id).started(runID: a.runID)
        // It may still start b when it wakes up: b's attempt counts as well.
        let report = try Recovery.sweep(store: store)
        #expect(report.releasedWorkers == ["w-stalled"])
        #expect(report.interrupted.count == 2 && report.interrupted.allSatisfy(\.started))
        #expect(try store.job(id: "b").state == .dead && store.job(id: "b").attempts == 1)
    }

    @Test func theRunningJobFileReadsBackWhatWasPublished() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let location = DatabaseLocation(path: directory + "/queue.db")
        try FileManager.default.createDirectory(atPath: location.logsDirectory, withIntermediateDirectories: true)
        let file = try RunningJobFile(location: location, workerID: "w-file")
        #expect(RunningJobFile.read(location: location, workerID: "w-file")! == (0, 0, 0))
        file.publish(runID: 123_456_789_012, pid: 4_194_304, startTicks: 9_988_776_655)
        #expect(RunningJobFile.read(location: location, workerID: "w-file")! == (123_456_789_012, 4_194_304, 9_988_776_655))
        file.started(runID: 7)
        #expect(RunningJobFile.read(location: location, workerID: "w-file")! == (7, 0, 0))
        let text = try String(contentsOfFile: file.path, encoding: .utf8)
        #expect(text.count == 64 && text.hasPrefix("7 0 0 ") && text.hasSuffix(" \n"))
        file.remove()
        #expect(RunningJobFile.read(location: location, workerID: "w-file") == nil)
    }

    @Test func aWorkerThatStartedNothingYetGivesBackItsWholeBatch() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteJobStore(location: DatabaseLocation(path: directory + "/queue.db"))
        _ = try store.enqueue(try ["a", "b"].map { try JobSpec(id: $0, command: "true", maxRetries: 0) }, now: .now())
        let now = Timestamp.now()
        let worker = WorkerRecord(id: "w-fresh", pid: try deadPID(), pidStartTicks: 1, hostname: ProcessIdentity.hostname,
                                  startedAt: now, heartbeatAt: now)
        try store.registerWorker(worker)
        // A new worker's file says it started nothing (run 0).
        _ = try RunningJobFile(location: store.location, workerID: worker.id)
        _ = try store.settle([], workerID: worker.id, claimLimit: 2, now: now)
        let report = try Recovery.sweep(store: store)
        #expect(report.interrupted.count == 2 && report.interrupted.allSatisfy { !$0.started })
        #expect(Heartbeat.describe(report) == [
            "released worker w-fresh (presumed dead): no run interrupted; gave back 2 jobs it had claimed ahead"])
        #expect(try store.counts()[.pending] == 2)
    }

    /// A running-job file another user could have written (here: in a folder others
    /// can write to) is not trusted: recovery kills nothing it names. The same file
    /// in the worker's private folder is acted on, so the check is what spares it.
    @Test func recoveryTrustsOnlyARunningJobFileInAPrivateFolder() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteJobStore(location: DatabaseLocation(path: directory + "/queue.db"))
        _ = try store.enqueue(try ["a", "b"].map { try JobSpec(id: $0, command: "true", maxRetries: 0) }, now: .now())
        // An unrelated process of this user, leading its own group (setsid execs in place).
        let bystander = try spawnGroupLeader(["/bin/sleep", "30"])
        defer { killAndReap(bystander) }
        let pid = Int(bystander)
        var ticks: Int64?
        _ = QueueSandbox.waitUntil(timeout: 5) {
            ticks = ProcessIdentity.startTicks(of: pid)
            return ticks != nil
        }
        let bystanderTicks = try #require(ticks)

        func forge(worker id: String) throws -> String {
            let now = Timestamp.now()
            try store.registerWorker(WorkerRecord(id: id, pid: try deadPID(), pidStartTicks: 1, hostname: ProcessIdentity.hostname,
                                                  startedAt: now, heartbeatAt: now))
            guard case let .claimed(run) = try store.settle([], workerID: id, claimLimit: 1, now: now).next else {
                throw TestFailure("nothing claimed")
            }
            let line = "\(run.runID) \(pid) \(bystanderTicks)"
            let path = RunningJobFile.path(location: store.location, workerID: id)
            try (line + String(repeating: " ", count: 63 - line.count) + "\n").write(toFile: path, atomically: false, encoding: .utf8)
            return path
        }
        try store.location.prepareLogsFolder()
        #expect(chmod(store.location.workersFolder, 0o777) == 0)
        _ = try forge(worker: "w-forged")
        #expect(try Recovery.sweep(store: store).releasedWorkers == ["w-forged"])
        // A SIGKILL lands asynchronously: give one the time to.
        #expect(!QueueSandbox.waitUntil(timeout: 0.5) { ProcessIdentity.startTicks(of: pid) != bystanderTicks },
                "recovery killed a process named in a file others could write")

        #expect(chmod(store.location.workersFolder, 0o700) == 0)
        _ = try forge(worker: "w-trusted")
        #expect(try Recovery.sweep(store: store).releasedWorkers == ["w-trusted"])
        #expect(try QueueSandbox.waitUntil(timeout: 5) { ProcessIdentity.startTicks(of: pid) == nil },
                "the same file in a private folder is acted on")
    }

    /// A reading command skips its sweep only when the check shows nothing a sweep
    /// would release: judged per worker as the sweep judges it.
    @Test func theSweepCheckPassesOnlyWhenASweepWouldReleaseNothing() throws {
        let here = ProcessIdentity.hostname
        let live = SweepCheck.Worker(hostname: here, pid: ProcessIdentity.currentPID,
                                     pidStartTicks: ProcessIdentity.currentStartTicks)
        let dead = SweepCheck.Worker(hostname: here, pid: try deadPID(), pidStartTicks: 1)
        let reused = SweepCheck.Worker(hostname: here, pid: ProcessIdentity.currentPID,
                                       pidStartTicks: ProcessIdentity.currentStartTicks + 1)
        let elsewhere = SweepCheck.Worker(hostname: "elsewhere.invalid", pid: dead.pid, pidStartTicks: 1)
        func check(_ workers: [SweepCheck.Worker], expired: Bool = false, orphans: Bool = false) -> Bool {
            Recovery.wouldChangeNothing(SweepCheck(workers: workers, anyLeaseExpired: expired, orphansMayExist: orphans))
        }
        #expect(check([]))
        #expect(check([live]))
        #expect(check([live, elsewhere]), "another host's process is judged by its lease alone")
        #expect(!check([live, dead]), "a worker of this host whose process is gone is released")
        #expect(!check([reused]), "a pid now used by another process is not the worker")
        #expect(!check([live], expired: true))
        #expect(!check([], orphans: true))
    }
}
