import Foundation
import QueueCore
import Testing
import TestSupport

/// Runs are numbered over a job's whole life, across `dlq retry`, and `logs`
/// reaches each; `logs --follow` follows a job through its retries to the end.
@Suite struct RunHistoryTests {
    @Test func runNumbersContinueAfterADLQRetryAndEveryRunIsReachable() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let counter = sandbox.path("counter")
        try sandbox.enqueue(#"{"id":"flaky","command":"echo x >> \#(counter); echo run $(wc -l < \#(counter)); exit 1","max_retries":1}"#)
        try sandbox.configure([("backoff-base", "1")])
        try sandbox.startWorkers(1)
        try sandbox.waitForState("flaky", "dead")
        try sandbox.ok(["dlq", "retry", "flaky"])
        let job = try sandbox.waitForState("flaky", "dead")
        let history = try #require(job["history"]?.arrayValue)
        #expect(history.map { $0["run"]?.intValue } == [1, 2, 3, 4])
        #expect(history.map { $0["attempt"]?.intValue } == [1, 2, 1, 2], "attempts restart for the retry budget")
        for n in 1...4 {
            let out = try sandbox.ok(["logs", "flaky", "--run", String(n)]).stdout
            #expect(out == "run \(n)\n", "run \(n): \(out)")
        }
        #expect(try sandbox.ok(["logs", "flaky", "--attempt", "3"]).stdout == "run 3\n", "--attempt is the same number")
        let show = try sandbox.ok(["show", "flaky"]).stdout
        #expect(show.contains("#3") && show.contains("#4"), "\(show)")
        let missing = try sandbox.run(["logs", "flaky", "--run", "5"])
        #expect(missing.status == 3, "\(missing)")
    }

    @Test func followWaitsThroughRetriesAndTellsFailureFromSuccess() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("backoff-base", "1")])
        try sandbox.enqueue(#"{"id":"fails","command":"echo try; exit 3","max_retries":1}"#)
        try sandbox.enqueue(#"{"id":"works","command":"echo done","delay":1}"#)
        try sandbox.startWorkers(1)
        let failed = try sandbox.run(["logs", "fails", "--follow"], timeout: 30)
        #expect(failed.status == 5, "a job that ends dead: \(failed)")
        #expect(failed.stdout == "try\ntry\n", "both runs' output: \(failed.stdout)")
        #expect(try sandbox.state("fails") == "dead")
        let worked = try sandbox.run(["logs", "works", "--follow"], timeout: 30)
        #expect(worked.status == 0 && worked.stdout == "done\n", "\(worked)")
    }
}
