import Foundation
import QueueCore
import Testing
import TestSupport

/// `queuectl cancel`: waiting jobs at once, running jobs by stopping their process
/// tree (TERM, then KILL after kill-grace), conflicts and unknown ids change
/// nothing, bulk cancel, and `cancelled` everywhere but the DLQ.
@Suite struct CancelTests {
    @Test func waitingJobsAreCancelledAtOnceAndAFinalJobIsAConflict() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"now","command":"true"}"#)
        try sandbox.enqueue(#"{"id":"later","command":"true","delay":3600}"#)
        // Unknown id among known ones: nothing changes.
        let unknown = try sandbox.run(["cancel", "now", "nope"])
        #expect(unknown.status == 3 && unknown.stderr.contains("nope"), "\(unknown)")
        #expect(try sandbox.state("now") == "pending")

        let report = try sandbox.json(["cancel", "now", "later"])
        #expect(report["cancelled"]?.arrayValue?.compactMap(\.stringValue) == ["now", "later"])
        #expect(try sandbox.state("later") == "cancelled")
        #expect(try sandbox.job("now")["last_error"]?.stringValue == "cancelled by request")

        let again = try sandbox.run(["cancel", "now"])
        #expect(again.status == 4, "\(again)")
        #expect(again.stderr == "error: job 'now' is already cancelled; nothing was cancelled\n")
        #expect(try sandbox.counts()["cancelled"] == 2)
        #expect(try sandbox.json(["list", "--state", "cancelled"]).arrayValue?.count == 2)
        #expect(try sandbox.json(["dlq", "list"]).arrayValue?.isEmpty == true)
    }

    @Test func aRetryWaitingJobIsCancelledAndNeverRetried() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("backoff-base", "1000")])
        try sandbox.enqueue(#"{"id":"flaky","command":"exit 1","max_retries":3}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState("flaky", "failed")
        try sandbox.ok(["cancel", "flaky"])
        let job = try sandbox.job("flaky")
        #expect(job["state"]?.stringValue == "cancelled" && job["attempts"]?.intValue == 1)
    }

    @Test func aRunningJobsProcessTreeIsStoppedAndItsRunRecordedCancelled() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("kill-grace", "1")])
        let pidFile = sandbox.path("child.pid")
        // The shell ignores TERM, so only the KILL after the grace ends it; its child does not.
        try sandbox.enqueue(#"{"id":"busy","max_retries":3,"command":"trap '' TERM; sleep 60 & echo $! > \#(pidFile); while true; do sleep 0.1; done"}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState("busy", "processing")
        #expect(QueueSandbox.waitUntil(timeout: 5) { !sandbox.lines(of: "child.pid").isEmpty })
        let child = try #require(Int32(sandbox.lines(of: "child.pid").first ?? ""))

        let started = Date()
        let cancel = try sandbox.json(["cancel", "busy"])
        #expect(cancel["stopping"]?.arrayValue?.compactMap(\.stringValue) == ["busy"])
        let job = try sandbox.waitForState("busy", "cancelled", timeout: 10)
        // Noticed within a second, then a one-second grace before KILL.
        #expect(Date().timeIntervalSince(started) < 4)
        let runs = job["history"]?.arrayValue ?? []
        #expect(runs.count == 1 && runs.last?["outcome"]?.stringValue == "cancelled")
        #expect(runs.last?["signal"]?.intValue == 9)
        #expect(QueueSandbox.waitUntil(timeout: 3) { !processIsRunning(child) })
        // Never retried.
        usleep(300_000)
        #expect(try sandbox.job("busy")["attempts"]?.intValue == 1)
    }

    @Test func bulkCancelByStatePrintsWhatItDid() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let lines = (0..<500).map { #"{"command":"true","id":"bulk\#($0)"}"# }.joined(separator: "\n")
        try sandbox.ok(["enqueue", "-"], stdin: lines)
        let result = try sandbox.ok(["cancel", "--state", "pending", "--all"])
        #expect(result.lines.count == 500 && result.lines.first == "bulk0  cancelled")
        #expect(result.stderr.contains("500 cancelled"))
        #expect(try sandbox.counts()["cancelled"] == 500)
        let none = try sandbox.ok(["cancel", "--state", "pending", "--all"])
        #expect(none.stdout.isEmpty && none.stderr.contains("no pending jobs"))
        let final = try sandbox.run(["cancel", "--state", "completed", "--all"])
        #expect(final.status == 64, "\(final)")
    }

    @Test func cancelsRacingShortRunsLeaveConsistentHistories() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let ids = (0..<30).map { "r\($0)" }
        try sandbox.ok(["enqueue", "-"], stdin: ids.map { #"{"id":"\#($0)","command":"sleep 0.0\#($0.count % 5)","max_retries":0}"# }.joined(separator: "\n"))
        try sandbox.startWorkers(2)
        for id in ids {
            let result = try sandbox.run(["cancel", id])
            #expect(result.status == 0 || result.status == 4, "\(result)")
        }
        try sandbox.run(["wait", "--timeout", "20"] + ids)
        for id in ids {
            let job = try sandbox.job(id)
            let outcomes = (job["history"]?.arrayValue ?? []).compactMap { $0["outcome"]?.stringValue }
            switch job["state"]?.stringValue {
            case "completed": #expect(outcomes == ["succeeded"], "\(id): \(outcomes)")
            case "cancelled": #expect(outcomes.isEmpty || outcomes == ["cancelled"], "\(id): \(outcomes)")
            default: Issue.record("\(id) ended \(job["state"]?.stringValue ?? "?")")
            }
        }
        let counts = try sandbox.counts()
        #expect(counts["processing"] == 0 && (counts["completed"] ?? 0) + (counts["cancelled"] ?? 0) == 30)
    }
}
