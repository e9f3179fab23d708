import Foundation
import QueueCore
import QueueStores
import Testing
import TestSupport

/// Workers stop gracefully (finishing their job), die hard (`kill -9`: the job is
/// released at once and retried), and the queue survives restarts.
@Suite struct WorkerLifecycleTests {
    @Test func workerStopLetsTheRunningJobFinishAndTakesNoNewOne() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"running","command":"sleep 1; echo finished"}"#)
        let workers = try sandbox.startWorkers(1)
        try sandbox.waitForState("running", "processing")
        try sandbox.enqueue(#"{"id":"next","command":"true"}"#)

        let stop = try sandbox.run(["worker", "stop", "--timeout", "20"])
        #expect(stop.status == 0, "\(stop)")
        #expect(stop.stdout.contains("stopped 1"))
        // When stop returns the job is recorded, the worker gone, nothing processing.
        let job = try sandbox.job("running")
        #expect(job["state"]?.stringValue == "completed")
        #expect(job["history"]?.arrayValue?.map { $0["outcome"]?.stringValue } == ["succeeded"])
        #expect(try sandbox.run(["logs", "running"]).stdout == "finished\n")
        let next = try sandbox.job("next")
        #expect(next["state"]?.stringValue == "pending" && next["attempts"]?.intValue == 0)
        #expect(try sandbox.counts()["processing"] == 0)
        #expect(try sandbox.json(["worker", "list"]) == .array([]))
        #expect(!processIsRunning(workers[0].pid))
    }

    @Test func askingAgainAfterAStopTimedOutStillLetsTheJobFinish() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"long","command":"sleep 2; echo finished"}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState("long", "processing")
        let first = try sandbox.run(["worker", "stop", "--timeout", "0.3"])
        #expect(first.status == 1 && first.stderr.contains("still running job long"), "\(first)")
        // The natural next step: ask again and wait longer. The job is not cancelled.
        let again = try sandbox.run(["worker", "stop", "--timeout", "20"])
        #expect(again.status == 0, "\(again)")
        let job = try sandbox.job("long")
        #expect(job["state"]?.stringValue == "completed", "\(job)")
        #expect(job["history"]?.arrayValue?.map { $0["outcome"]?.stringValue } == ["succeeded"])
    }

    @Test func sigtermToAWorkerIsGracefulToo() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"running","command":"sleep 1"}"#)
        let worker = try #require(try sandbox.startWorkers(1).first)
        try sandbox.waitForState("running", "processing")
        #expect(kill(worker.pid, SIGTERM) == 0)
        #expect(QueueSandbox.waitUntil(timeout: 10) { !processIsRunning(worker.pid) })
        let job = try sandbox.job("running")
        #expect(job["state"]?.stringValue == "completed")
        #expect(job["history"]?.arrayValue?.count == 1)
        #expect(try sandbox.json(["worker", "list"]) == .array([]))
    }

    @Test func killedWorkersJobIsReleasedAtOnceAndRetried() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        // A long lease: release must come from noticing the process is gone, not from the lease.
        try sandbox.configure([("lease-timeout", "15"), ("backoff-base", "1")])
        let flag = sandbox.path("first-run")
        let pidFile = sandbox.path("child.pid")
        try sandbox.enqueue(#"""
            {"id":"victim","max_retries":2,
             "command":"if [ -f \#(flag) ]; then echo second run; else touch \#(flag); sleep 30 & echo $! > \#(pidFile); wait; fi"}
            """#)
        let worker = try #require(try sandbox.startWorkers(1).first)
        try sandbox.waitForState("victim", "processing")
        #expect(QueueSandbox.waitUntil(timeout: 5) { !sandbox.lines(of: "child.pid").isEmpty })
        let childPID = try #require(Int32(sandbox.lines(of: "child.pid").first ?? ""))

        #expect(kill(worker.pid, SIGKILL) == 0)
        let killedAt = Date()
        let released = try sandbox.waitForState("victim", ["failed", "pending"], timeout: 10)
        let took = Date().timeIntervalSince(killedAt)
        #expect(took < 3, "released after \(took) s; lease-timeout is 15 s but the process was gone")
        let history = try #require(released["history"]?.arrayValue)
        #expect(history.first?["outcome"]?.stringValue == "interrupted")
        #expect(released["attempts"]?.intValue == 1)
        #expect(try sandbox.json(["worker", "list"]).arrayValue?.contains { $0["id"]?.stringValue == worker.id } == false)
        #expect(try sandbox.json(["status"])["workers"]?.arrayValue?.isEmpty == true)
        // The job's process group died with it.
        #expect(QueueSandbox.waitUntil(timeout: 3) { !processIsRunning(childPID) }, "job child \(childPID) outlived its worker")

        try sandbox.startWorkers(1)
        let done = try sandbox.waitForState("victim", "completed")
        #expect(done["attempts"]?.intValue == 2)
        #expect(done["history"]?.arrayValue?.map { $0["outcome"]?.stringValue } == ["interrupted", "succeeded"])
        #expect(try sandbox.run(["logs", "victim"]).stdout == "second run\n")
    }

    @Test func queueSurvivesRestarts() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("max-retries", "5"), ("backoff-base", "1.25")])
        for i in 1...3 { try sandbox.enqueue(#"{"id":"first-\#(i)","command":"echo run \#(i)"}"#) }
        try sandbox.startWorkers(2)
        #expect(QueueSandbox.waitUntil(timeout: 20) { (try? sandbox.counts()["completed"]) == 3 })
        try sandbox.ok(["worker", "stop"])
        let historyBefore = try sandbox.job("first-2")

        for i in 1...3 { try sandbox.enqueue(#"{"id":"second-\#(i)","command":"echo again \#(i)"}"#) }
        try sandbox.enqueue(#"{"id":"later","command":"true","delay":3600}"#)

        // Nothing runs while no worker is up; everything is still there.
        #expect(try sandbox.counts() == ["pending": 3, "processing": 0, "completed": 3, "failed": 0, "dead": 0, "scheduled": 1, "blocked": 0, "cancelled": 0])
        #expect(try sandbox.job("first-2") == historyBefore)
        #expect(try sandbox.run(["logs", "first-2"]).stdout == "run 2\n")
        #expect(try sandbox.ok(["config", "get", "max-retries"]).stdout == "5\n")
        #expect(try sandbox.job("second-1")["max_retries"]?.intValue == 5)

        try sandbox.startWorkers(1)
        #expect(QueueSandbox.waitUntil(timeout: 20) { (try? sandbox.counts()["completed"]) == 6 })
        try sandbox.ok(["worker", "stop"])
        #expect(try sandbox.counts() == ["pending": 0, "processing": 0, "completed": 6, "failed": 0, "dead": 0, "scheduled": 1, "blocked": 0, "cancelled": 0])
        #expect(try sandbox.state("later") == "scheduled")
        #expect(try sandbox.ok(["config", "get", "backoff_base"]).stdout == "1.25\n")
    }
}

/// Workers that go wrong: stalled past their lease, killed by their own job, or
/// supervised in the foreground.
@Suite struct WorkerFailureTests {
    @Test func stalledWorkerLosesItsLeaseAndCannotOverwriteTheRetry() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("lease-timeout", "1"), ("backoff-base", "1")])
        let flag = sandbox.path("first")
        try sandbox.enqueue(#"""
            {"id":"stall","max_retries":3,
             "command":"if [ -f \#(flag) ]; then echo retry; else touch \#(flag); sleep 1.5; echo stale; fi"}
            """#)
        let stalled = try #require(try sandbox.startWorkers(1).first)
        try sandbox.waitForState("stall", "processing")
        #expect(kill(stalled.pid, SIGSTOP) == 0)
        // Never leave it stopped if the test ends early (SIGCONT is harmless to anyone else).
        defer { if processIsRunning(stalled.pid) { kill(stalled.pid, SIGCONT) } }

        // Its heartbeat stops; anyone looking releases the job after the 1 s lease.
        let released = try sandbox.waitForState("stall", ["failed", "pending"], timeout: 10)
        #expect(released["history"]?.arrayValue?.first?["outcome"]?.stringValue == "interrupted")
        #expect(released["history"]?.arrayValue?.first?["error"]?.stringValue?.contains("heartbeat") == true)
        #expect(try sandbox.workers().contains { $0.id == stalled.id } == false)

        try sandbox.startWorkers(1)
        let done = try sandbox.waitForState("stall", "completed")
        // The stalled worker wakes up: it records nothing, and never acts as the
        // released worker again. (The issue allows it to exit; the worker comes back
        // under a new id with a new lease, which is what this waits for first.)
        #expect(kill(stalled.pid, SIGCONT) == 0)
        #expect(QueueSandbox.waitUntil(timeout: 10) {
            !processIsRunning(stalled.pid) || ((try? sandbox.workers()) ?? []).contains { $0.pid == stalled.pid && $0.id != stalled.id }
        }, "the released worker neither exited nor registered again under a new id")
        #expect(try sandbox.workers().contains { $0.id == stalled.id } == false)
        let after = try sandbox.job("stall")
        #expect(after == done)
        #expect(after["attempts"]?.intValue == 2)
        #expect(after["history"]?.arrayValue?.map { $0["outcome"]?.stringValue } == ["interrupted", "succeeded"])
        #expect(try sandbox.run(["logs", "stall"]).stdout == "retry\n")
    }

    @Test func jobThatKillsItsWorkerIsRetriedThenDead() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("backoff-base", "1"), ("lease-timeout", "15")])
        // Workers first: a worker killed by its first job within milliseconds of
        // registering can look to `worker start` like one that failed to start.
        try sandbox.startWorkers(2)
        try sandbox.enqueue(#"{"id":"assassin","command":"kill -9 $PPID; sleep 5","max_retries":1}"#)
        let job = try sandbox.waitForState("assassin", "dead", timeout: 20)
        #expect(job["attempts"]?.intValue == 2)
        #expect(job["history"]?.arrayValue?.map { $0["outcome"]?.stringValue } == ["interrupted", "interrupted"])
        // The pool's supervisor replaced the killed workers.
        #expect(QueueSandbox.waitUntil(timeout: 10) {
            let now = (try? sandbox.workers()) ?? []
            return now.count == 2 && now.allSatisfy { processIsRunning($0.pid) }
        }, "the pool was not kept at 2: \((try? sandbox.workers()) ?? [])")
        #expect(try sandbox.counts()["processing"] == 0)
    }

    @Test func foregroundWorkersStopGracefullyOnSIGTERMAndRestartCrashes() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let supervisor = try sandbox.spawn(["worker", "start", "--foreground", "--count", "2"])
        defer { if supervisor.isRunning { kill(supervisor.processIdentifier, SIGKILL) } }
        let registered = QueueSandbox.waitUntil { (try? sandbox.workers().count) == 2 }
        try #require(registered, "foreground workers did not register: \(sandbox.lines(of: "stderr.log").suffix(5))")

        // A crashed worker is replaced.
        let crashed = try #require(try sandbox.workers().first)
        #expect(kill(crashed.pid, SIGKILL) == 0)
        #expect(QueueSandbox.waitUntil {
            let now = (try? sandbox.workers()) ?? []
            return now.count == 2 && !now.contains { $0.id == crashed.id }
        }, "no replacement for the crashed worker")

        try sandbox.enqueue(#"{"id":"fg","command":"sleep 1; echo done"}"#)
        try sandbox.waitForState("fg", "processing")
        let pids = try sandbox.workers().map(\.pid)
        #expect(kill(supervisor.processIdentifier, SIGTERM) == 0)
        let exited = QueueSandbox.waitUntil(timeout: 15) { !supervisor.isRunning }
        try #require(exited, "the foreground supervisor did not exit on SIGTERM")
        supervisor.waitUntilExit()
        #expect(supervisor.terminationStatus == 0)
        #expect(try sandbox.state("fg") == "completed")
        #expect(try sandbox.run(["logs", "fg"]).stdout == "done\n")
        #expect(try sandbox.workers().isEmpty)
        for pid in pids { #expect(!processIsRunning(pid)) }
    }
}

/// Recovery and stopping as seen from outside, without a CLI read doing the work.
@Suite struct WorkerRecoveryTests {
    @Test func anotherWorkerReleasesADeadWorkersJobOnItsOwn() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("backoff-base", "1"), ("lease-timeout", "15")])
        let flag = sandbox.path("once")
        try sandbox.enqueue(#"{"id":"orphan","command":"if [ -f \#(flag) ]; then exit 0; fi; touch \#(flag); sleep 30","max_retries":2}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState("orphan", "processing")
        let holder = try #require(try sandbox.workers().first)
        try sandbox.startWorkers(1)
        #expect(kill(holder.pid, SIGKILL) == 0)

        // Read the database directly: no queuectl command runs a sweep meanwhile.
        let store = try StoreOpener.open(try StoreAddress.resolve(explicit: sandbox.address), .command(creating: false))
        let start = Date()
        let completed = try QueueSandbox.waitUntil(timeout: 15) { try store.job(id: "orphan").state == .completed }
        #expect(completed, "the surviving worker never released and reran the job")
        #expect(Date().timeIntervalSince(start) < 6, "took \(Date().timeIntervalSince(start)) s with a 15 s lease")
        let runs = try store.runs(jobID: "orphan")
        #expect(runs.map(\.outcome) == [.interrupted, .succeeded])
        #expect(runs.first?.workerID == holder.id && runs.last?.workerID != holder.id)
    }

    @Test func stopTimeoutNamesTheWorkerStillRunningThenItFinishes() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let release = sandbox.path("release")
        try sandbox.enqueue(#"{"id":"long","command":"while [ ! -f \#(release) ]; do sleep 0.05; done"}"#)
        let worker = try #require(try sandbox.startWorkers(1).first)
        try sandbox.waitForState("long", "processing")
        let stop = try sandbox.run(["worker", "stop", "--timeout", "0.5"])
        #expect(stop.status == 1, "\(stop)")
        #expect(stop.stderr.contains(worker.id) && stop.stderr.contains("long"), "\(stop.stderr)")
        // Still on its job, and shown as asked to stop.
        let listed = try sandbox.json(["worker", "list"]).arrayValue?.first
        #expect(listed?["state"]?.stringValue == "stopping" && listed?["job_id"]?.stringValue == "long", "\(String(describing: listed))")

        #expect(FileManager.default.createFile(atPath: release, contents: nil))
        #expect(QueueSandbox.waitUntil { !processIsRunning(worker.pid) }, "the worker asked to stop did not exit after its job")
        #expect(try sandbox.state("long") == "completed")
        #expect(try sandbox.workers().isEmpty)
    }

    @Test func noWaitStopReturnsAtOnce() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let workers = try sandbox.startWorkers(2)
        let stop = try sandbox.run(["worker", "stop", "--no-wait"])
        #expect(stop.status == 0, "\(stop)")
        #expect(QueueSandbox.waitUntil { workers.allSatisfy { !processIsRunning($0.pid) } })
        #expect(try sandbox.workers().isEmpty)
    }

    @Test func workersStartAndStopFromAnyDirectoryAndRunJobsWhereStarted() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it names the database by relative paths (--db ../queue.db).
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let home = sandbox.path("project")
        let elsewhere = sandbox.path("elsewhere")
        for dir in [home, elsewhere] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        func queuectl(in dir: String, _ args: String) throws -> CLIResult {
            try QueueSandbox.exec("/bin/sh", ["-c", #"cd "$0" && exec "$1" "# + args, dir, QueueSandbox.binaryPath],
                                  environment: ["QUEUECTL_DB": ""])
        }
        // A relative --db from the project folder, jobs with relative paths.
        let start = try queuectl(in: home, "--db ../queue.db worker start")
        #expect(start.status == 0, "\(start)")
        try sandbox.enqueue(#"{"id":"rel","command":"pwd > where.txt"}"#)
        try sandbox.waitForState("rel", "completed")
        let written = try String(contentsOfFile: home + "/where.txt", encoding: .utf8)
        #expect(URL(fileURLWithPath: written.trimmingCharacters(in: .newlines)).resolvingSymlinksInPath()
                == URL(fileURLWithPath: home).resolvingSymlinksInPath())
        // Stopped from another folder with another spelling of the same path.
        let stop = try queuectl(in: elsewhere, "--db ../project/../queue.db worker stop")
        #expect(stop.status == 0, "\(stop)")
        #expect(stop.stdout.contains("stopped 1"), "\(stop)")
        #expect(try sandbox.workers().isEmpty)
    }
}
