import Foundation
import Testing
import QueueCore
import TestSupport

/// A worker frozen with SIGSTOP past its lease loses the job to another worker.
/// When it wakes up (SIGCONT) while the other worker holds the job, it must not
/// record anything, and no process of its run may outlive the takeover. The
/// history shows one `interrupted` run and one real outcome.
@Suite struct FencingTests {
    /// Sets a 1 s lease and a 1 s retry delay, enqueues `command` as job `fenced`,
    /// and starts the worker that will be frozen once the run has begun.
    private func frozenAfterStart(_ sandbox: QueueSandbox, command: String) throws -> (id: String, pid: Int32) {
        try sandbox.must(["config", "set", "lease-timeout", "1"])
        try sandbox.must(["config", "set", "backoff-base", "1"])
        try sandbox.must(["enqueue", JSONValue.object([("id", .string("fenced")), ("command", .string(command))]).serialized()])
        let stale = try #require(try sandbox.startWorkers(1).first)
        #expect(QueueSandbox.waitUntil { sandbox.lines("pgids").count == 1 }, "attempt 1 never started")
        // Freeze it once it has published the run's process group (recovery kills the
        // group through that file) and outside its millisecond write transactions: a
        // process stopped while holding SQLite's write lock blocks every writer until
        // it resumes, which no lease can help (a limit of SQLite's file locks).
        let runFile = (try sandbox.requireFileStore()) + "-logs/workers/\(stale.id).run"
        #expect(QueueSandbox.waitUntil {
            ((try? String(contentsOfFile: runFile, encoding: .utf8)) ?? "").split(separator: " ").dropFirst().first == Substring(sandbox.lines("pgids")[0])
        }, "the worker never published its run")
        for _ in 0..<50 {
            #expect(kill(stale.pid, SIGSTOP) == 0)
            if SQLiteProbe.canTakeWriteLock((try? sandbox.requireFileStore()) ?? "", timeout: 0.3) { return stale }
            kill(stale.pid, SIGCONT)
            usleep(30_000)
        }
        throw TestFailure("could not freeze the worker outside a write transaction")
    }

    /// Waits until `taker` runs attempt 2, with the stale worker still frozen.
    private func waitForTakeover(_ sandbox: QueueSandbox, taker: String) throws {
        let takenOver = try QueueSandbox.waitUntil(timeout: 20) {
            try sandbox.sql("select state || ' ' || attempts || ' ' || worker_id from jobs where id = 'fenced'") == "processing 2 \(taker)"
        }
        let seen = try sandbox.sql("select state, attempts, worker_id from jobs")
        #expect(takenOver, "no takeover: \(seen)")
    }

    /// Resumes the stale worker and waits until it has reacted: it exits, or comes
    /// back under a new worker id (its old lease is gone for good).
    private func resume(_ sandbox: QueueSandbox, _ stale: (id: String, pid: Int32)) throws {
        #expect(kill(stale.pid, SIGCONT) == 0)
        let reacted = try QueueSandbox.waitUntil(timeout: 10) {
            if !isLiveProcess(stale.pid) { return true }
            return try sandbox.sql("select count(*) from workers where pid = \(stale.pid) and id != '\(stale.id)'") == "1"
        }
        #expect(reacted, "the woken worker neither exited nor registered again")
        #expect(try sandbox.sql("select count(*) from workers where id = '\(stale.id)'") == "0", "the released worker's row came back")
    }

    @Test func frozenWorkersRunIsKilledAndItRecordsNothing() throws {
        let sandbox = try QueueSandbox(name: "fencing-kill")
        // A file store always: it freezes a worker outside SQLite's write lock and reads the history with SQL.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let dir = sandbox.directory
        // Attempt 1 starts a tree of long sleeps; attempt 2 runs 3 s, long enough
        // for the stale worker to wake while attempt 2 holds the lease.
        let stale = try frozenAfterStart(sandbox, command: """
            echo $$ >> \(dir)/pgids; if [ "$QUEUECTL_ATTEMPT" = 1 ]; then sleep 300 & sleep 301; fi; \
            sleep 3; echo $QUEUECTL_ATTEMPT >> \(dir)/marker
            """)
        defer { resumeIfRunning(stale.pid) }
        let firstGroup = try #require(Int32(sandbox.lines("pgids")[0]))
        #expect(groupHasMembers(firstGroup))

        let taker = try #require(try sandbox.startWorkers(1).first)
        try waitForTakeover(sandbox, taker: taker.id)
        // Recovery ended attempt 1's whole process group while its worker was frozen.
        #expect(QueueSandbox.waitUntil(timeout: 5) { !groupHasMembers(firstGroup) }, "attempt 1's processes outlived the takeover")
        #expect(try sandbox.runs("fenced").first == "1|\(stale.id)|interrupted|-")

        try resume(sandbox, stale)
        #expect(try sandbox.sql("select state || ' ' || attempts || ' ' || worker_id from jobs where id = 'fenced'") == "processing 2 \(taker.id)",
                "the woken worker disturbed the lease holder")
        #expect(try QueueSandbox.waitUntil(timeout: 15) { try sandbox.sql("select state from jobs where id = 'fenced'") == "completed" })
        #expect(try sandbox.runs("fenced") == ["1|\(stale.id)|interrupted|-", "2|\(taker.id)|succeeded|0"])
        #expect(try sandbox.sql("select attempts from jobs where id = 'fenced'") == "2")
        #expect(sandbox.lines("marker") == ["2"], "only attempt 2 reached its end")
    }

    @Test func frozenWorkersFinishedRunCannotOverwriteTheTakeover() throws {
        let sandbox = try QueueSandbox(name: "fencing-result")
        // A file store always: it freezes a worker outside SQLite's write lock and reads the history with SQL.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let dir = sandbox.directory
        // Attempt 1 ends (exit 0) while its worker is frozen: the worker wakes up
        // holding a successful result for a lease it no longer has.
        let stale = try frozenAfterStart(sandbox, command: """
            echo $$ >> \(dir)/pgids; if [ "$QUEUECTL_ATTEMPT" = 1 ]; then sleep 0.3; else sleep 2; fi; \
            echo $QUEUECTL_ATTEMPT >> \(dir)/marker
            """)
        defer { resumeIfRunning(stale.pid) }
        #expect(QueueSandbox.waitUntil { sandbox.lines("marker") == ["1"] }, "attempt 1 did not finish while its worker was frozen")

        let taker = try #require(try sandbox.startWorkers(1).first)
        try waitForTakeover(sandbox, taker: taker.id)
        try resume(sandbox, stale)
        #expect(try sandbox.runs("fenced").first == "1|\(stale.id)|interrupted|-", "the stale result overwrote the interrupted run")
        #expect(try sandbox.sql("select state || ' ' || attempts || ' ' || worker_id from jobs where id = 'fenced'") == "processing 2 \(taker.id)")
        #expect(try QueueSandbox.waitUntil(timeout: 15) { try sandbox.sql("select state from jobs where id = 'fenced'") == "completed" })
        #expect(try sandbox.runs("fenced") == ["1|\(stale.id)|interrupted|-", "2|\(taker.id)|succeeded|0"])
        #expect(try sandbox.sql("select count(*) from runs where finished_at is null") == "0")
    }
}
