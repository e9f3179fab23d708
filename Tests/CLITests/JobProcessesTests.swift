import Foundation
import QueueCore
import Testing
import TestSupport

/// Nothing a job starts outlives it: at a timeout, at its normal end, after it left
/// its process group, after its worker was killed. Each job's processes run a
/// `sleep` with a number of its own, so a failed test can clean up exactly those.
@Suite struct JobProcessesTests {
    /// A job whose shell dies of SIGTERM at its timeout while a member of its group
    /// ignores SIGTERM: SIGKILL reaches the whole group after the grace anyway.
    @Test func timeoutKillsGroupMembersThatIgnoreTerm() throws {
        let sandbox = try QueueSandbox(name: "tree-timeout")
        defer { TestProcesses.kill(containing: "sleep 3901"); sandbox.cleanup() }
        try sandbox.configure([("kill-grace", "1")])
        let marker = sandbox.path("ignorer.pid")
        let id = try sandbox.enqueue(#"{"command":"(trap \"\" TERM; exec sleep 3901) & echo $! > \#(marker); wait","timeout":1,"max_retries":0}"#)
        try sandbox.startWorkers(1)
        let ignorer = try #require(TestProcesses.pid(inFile: marker))
        try sandbox.waitForState(id, "dead")
        #expect(TestProcesses.waitGone(ignorer, timeout: 3), "sleep 3901 ignored SIGTERM and survived the timeout")
    }

    /// What a job leaves running when its shell exits gets SIGTERM, then SIGKILL
    /// after the grace.
    @Test func leftoversOfANormalEndGetTermThenKill() throws {
        let sandbox = try QueueSandbox(name: "tree-end")
        defer { TestProcesses.kill(containing: "sleep 3902"); sandbox.cleanup() }
        try sandbox.configure([("kill-grace", "1")])
        let marker = sandbox.path("left.pid"), ready = sandbox.path("ready")
        // The shell exits once the background process ignores SIGTERM.
        let id = try sandbox.enqueue(#"""
            {"command":"(trap \"\" TERM; : > \#(ready); exec sleep 3902) & echo $! > \#(marker); while [ ! -e \#(ready) ]; do sleep 0.01; done"}
            """#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState(id, "completed")
        let left = try #require(TestProcesses.pid(inFile: marker))
        #expect(TestProcesses.waitGone(left, timeout: 3), "a background process that ignores SIGTERM outlived its job")
    }

    /// `setsid` and `setpgid(0,0)` take a process out of the job's group; the
    /// worker adopts it when its parent exits and stops it with the job.
    @Test func processesThatLeaveTheGroupEndWithTheJob() throws {
        let sandbox = try QueueSandbox(name: "tree-escape")
        defer { TestProcesses.kill(containing: "sleep 391"); sandbox.cleanup() }
        try sandbox.configure([("kill-grace", "1")])
        let session = sandbox.path("session.pid"), group = sandbox.path("group.pid"), timed = sandbox.path("timed.pid")
        let ended = try sandbox.enqueue(#"""
            {"command":"setsid sleep 3911 & echo $! > \#(session); perl -e 'setpgrp(0,0); exec \"sleep\", \"3912\"' & echo $! > \#(group)"}
            """#)
        let timedOut = try sandbox.enqueue(#"{"command":"setsid sleep 3913 & echo $! > \#(timed); sleep 3914","timeout":1,"max_retries":0}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState(ended, "completed")
        let escapedSession = try #require(TestProcesses.pid(inFile: session))
        let escapedGroup = try #require(TestProcesses.pid(inFile: group))
        #expect(TestProcesses.waitGone(escapedSession, timeout: 3), "setsid sleep 3911 outlived its job")
        #expect(TestProcesses.waitGone(escapedGroup, timeout: 3), "a child that called setpgid(0,0) outlived its job")
        try sandbox.waitForState(timedOut, "dead")
        let escapedTimed = try #require(TestProcesses.pid(inFile: timed))
        #expect(TestProcesses.waitGone(escapedTimed, timeout: 3), "setsid sleep 3913 outlived its job's timeout")
    }

    /// After a `kill -9` of the only worker, its supervisor releases the job and
    /// kills what the job left (also what left its group), without any other
    /// command running, and says so in workers.log.
    @Test func killedWorkersJobIsReleasedAndItsProcessesKilledPromptly() throws {
        let sandbox = try QueueSandbox(name: "tree-kill9")
        // A file store always: it reads workers.log beside the database.
        let db = try sandbox.requireFileStore()
        defer { TestProcesses.kill(containing: "sleep 392"); sandbox.cleanup() }
        let inGroup = sandbox.path("in-group.pid"), escaped = sandbox.path("escaped.pid")
        let id = try sandbox.enqueue(#"{"command":"setsid sleep 3921 & echo $! > \#(escaped); sleep 3922 & echo $! > \#(inGroup); wait","max_retries":0}"#)
        let worker = try #require(try sandbox.startWorkers(1).first)
        let escapedPID = try #require(TestProcesses.pid(inFile: escaped))
        let groupPID = try #require(TestProcesses.pid(inFile: inGroup))
        let logPath = db + "-logs/workers.log"
        kill(worker.pid, SIGKILL)
        // Only /proc and the log are looked at here: a queuectl command would sweep itself.
        #expect(TestProcesses.waitGone(groupPID, timeout: 5), "the job's process group outlived its killed worker")
        #expect(TestProcesses.waitGone(escapedPID, timeout: 5), "setsid sleep 3921 outlived its killed worker")
        let released = QueueSandbox.waitUntil(timeout: 5) {
            ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").contains("interrupted the run of job \(id)")
        }
        #expect(released, "workers.log names the interrupted job: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
    }

    /// Without a supervisor (killed too), the next command that looks releases the
    /// job, kills its process group, and says so in workers.log.
    @Test func aCommandsSweepNamesTheInterruptedJobInTheWorkersLog() throws {
        let sandbox = try QueueSandbox(name: "sweep-log")
        // A file store always: it reads workers.log beside the database.
        let db = try sandbox.requireFileStore()
        defer { TestProcesses.kill(containing: "sleep 3941"); sandbox.cleanup() }
        let marker = sandbox.path("job.pid")
        let id = try sandbox.enqueue(#"{"command":"sleep 3941 & echo $! > \#(marker); wait","max_retries":0}"#)
        let worker = try #require(try sandbox.startWorkers(1).first)
        let child = try #require(TestProcesses.pid(inFile: marker))
        let supervisor = try #require(TestProcesses.parent(of: worker.pid))
        #expect(TestProcesses.commandLine(supervisor)?.contains("worker supervise") == true)
        kill(supervisor, SIGKILL)
        #expect(TestProcesses.waitGone(supervisor, timeout: 5))
        kill(worker.pid, SIGKILL)
        #expect(TestProcesses.waitGone(worker.pid, timeout: 5))
        try sandbox.ok(["status"])
        #expect(try sandbox.state(id) == "dead")
        #expect(TestProcesses.waitGone(child, timeout: 3), "the job's process group outlived its killed worker")
        let log = try String(contentsOfFile: db + "-logs/workers.log", encoding: .utf8)
        #expect(log.contains("queuectl.recovery: [pid ") && log.contains("released worker \(worker.id) (presumed dead): interrupted the run of job \(id)"), "\(log)")
    }

    /// Enqueues `command` (no retries), lets a worker start it, then SIGKILLs the
    /// worker and its supervisor: a dead worker holding a `processing` job that
    /// only a sweep releases. Returns the job's id.
    private func killWorkerAndSupervisor(runningJobOf command: String, in sandbox: QueueSandbox) throws -> String {
        let id = try sandbox.enqueue(#"{"command":"\#(command)","max_retries":0}"#)
        let worker = try #require(try sandbox.startWorkers(1).first)
        try sandbox.waitForState(id, "processing")
        let supervisor = try #require(TestProcesses.parent(of: worker.pid))
        kill(supervisor, SIGKILL)
        #expect(TestProcesses.waitGone(supervisor, timeout: 5))
        kill(worker.pid, SIGKILL)
        #expect(TestProcesses.waitGone(worker.pid, timeout: 5))
        return id
    }

    /// `status` shows the queue as its own sweep left it: the counts and workers
    /// read before the sweep (on PostgreSQL, in the same statement as its view)
    /// are read again when the sweep released a worker.
    @Test func statusShowsWhatItsOwnSweepReleased() throws {
        let sandbox = try QueueSandbox(name: "status-sweep")
        defer { TestProcesses.kill(containing: "sleep 3942"); sandbox.cleanup() }
        let id = try killWorkerAndSupervisor(runningJobOf: "sleep 3942", in: sandbox)
        let status = try sandbox.json(["status"])
        #expect(status["jobs"]?["processing"]?.intValue == 0, "\(status.serialized())")
        #expect(status["jobs"]?["dead"]?.intValue == 1, "\(status.serialized())")
        #expect(status["workers"]?.arrayValue?.isEmpty == true, "\(status.serialized())")
        // Nothing left to release: the next look shows the same.
        #expect(try sandbox.json(["status"]) == status)
    }

    /// `list` shows the queue as its own sweep left it: on PostgreSQL its first
    /// page comes with the opening statement, and is read again when the sweep
    /// found a worker to release.
    @Test func listShowsWhatItsOwnSweepReleased() throws {
        let sandbox = try QueueSandbox(name: "list-sweep")
        defer { TestProcesses.kill(containing: "sleep 3943"); sandbox.cleanup() }
        let id = try killWorkerAndSupervisor(runningJobOf: "sleep 3943", in: sandbox)
        let processing = try sandbox.json(["list", "--state", "processing", "--limit", "10"])
        #expect(processing.arrayValue?.isEmpty == true, "\(processing.serialized())")
        let dead = try sandbox.json(["list", "--state", "dead", "--limit", "10"])
        #expect(dead.arrayValue?.compactMap { $0["id"]?.stringValue } == [id], "\(dead.serialized())")
    }

    /// Each job's start is logged with its command, on one line, capped, with
    /// control characters shown rather than written to the log.
    @Test func jobStartIsLoggedWithItsCommandEscapedAndCapped() throws {
        let sandbox = try QueueSandbox(name: "start-log")
        // A file store always: it reads workers.log beside the database.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let short = try sandbox.enqueue(#"{"command":"echo '\u001b]0;title\u0007' done"}"#)
        let long = try sandbox.enqueue(#"{"command":"true\n# \#(String(repeating: "x", count: 300))"}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState(short, "completed")
        try sandbox.waitForState(long, "completed")
        let log = try String(contentsOfFile: db + "-logs/workers.log", encoding: .utf8)
        let lines = log.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasSuffix("job \(short) attempt 1 started: echo '␛]0;title␇' done") }, "\(log)")
        let longLine = try #require(lines.first { $0.contains("job \(long) attempt 1 started: ") })
        let shown = try #require(longLine.components(separatedBy: "started: ").last)
        #expect(shown == "true␊# " + String(repeating: "x", count: 193) + "…", "\(shown)")
        #expect(!log.contains("\u{1B}") && !log.contains("\u{07}"))
    }
}
