import Foundation
import QueueCore
import Testing
import TestSupport

/// `queuectl wait` and `enqueue --wait`: exit codes, JSON, timeout, the job's output and exit code.
@Suite struct WaitTests {
    @Test func waitExitsZeroWhenAllCompletedAndFiveWhenOneDid() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"ok","command":"sleep 0.3"}"#)
        try sandbox.enqueue(#"{"id":"bad","command":"exit 3","max_retries":0}"#)
        try sandbox.startWorkers(2)
        let ok = try sandbox.run(["wait", "ok", "--json"])
        #expect(ok.status == 0, "\(ok)")
        #expect(try JSONValue.parse(ok.stdout).arrayValue?.first?["state"]?.stringValue == "completed")
        let mixed = try sandbox.run(["wait", "ok", "bad"])
        #expect(mixed.status == 5 && mixed.stderr.contains("bad dead"), "\(mixed)")
    }

    @Test func waitTimesOutWithSixAndLeavesTheJobAlone() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"slow","command":"true","delay":3600}"#)
        let started = Date()
        let result = try sandbox.run(["wait", "slow", "--timeout", "0.5"])
        #expect(result.status == 6 && result.stderr.contains("timed out"), "\(result)")
        #expect(Date().timeIntervalSince(started) < 3)
        #expect(try sandbox.state("slow") == "scheduled")
        #expect(try sandbox.run(["wait", "nope"]).status == 3)
    }

    @Test func enqueueWaitPrintsTheOutputAndExitsWithTheJobsCode() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.startWorkers(1)
        let result = try sandbox.run(["enqueue", "--wait", "--max-retries", "0", "--command", "echo one; echo two >&2; exit 7"])
        #expect(result.status == 7, "\(result)")
        #expect(result.stdout == "one\ntwo\n")
        let good = try sandbox.run(["enqueue", "--wait", "--command", "echo fine"])
        #expect(good.status == 0 && good.stdout == "fine\n", "\(good)")
        let killed = try sandbox.run(["enqueue", "--wait", "--max-retries", "0", "--command", "kill -9 $$"])
        #expect(killed.status == 137, "\(killed)")
    }
}
