import Foundation
import QueueCore
import Testing
import TestSupport

/// The dead letter queue: jobs land there after max_retries + 1 runs; `dlq retry`
/// brings them back with attempts reset, and rejects anything else untouched.
@Suite struct DLQTests {
    @Test func deadJobIsListedAndRetriedToCompletion() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let flag = sandbox.path("fixed")
        // Fails until the flag file exists.
        try sandbox.enqueue(#"{"id":"broken","command":"test -f \#(flag)","max_retries":0}"#)
        try sandbox.startWorkers(1)
        let dead = try sandbox.waitForState("broken", "dead")
        #expect(dead["attempts"]?.intValue == 1)
        let dlq = try #require(try sandbox.json(["dlq", "list"]).arrayValue)
        #expect(dlq.map { $0["id"]?.stringValue } == ["broken"])
        #expect(dlq.first?["state"]?.stringValue == "dead")
        let text = try sandbox.ok(["dlq", "list"])
        #expect(text.stdout.contains("broken"))

        #expect(FileManager.default.createFile(atPath: flag, contents: nil))
        let retry = try sandbox.run(["dlq", "retry", "broken"])
        #expect(retry.status == 0, "\(retry)")
        #expect(retry.stdout == "broken\n")
        let done = try sandbox.waitForState("broken", "completed")
        #expect(done["attempts"]?.intValue == 1, "attempts restart from 0 after dlq retry")
        let history = try #require(done["history"]?.arrayValue)
        #expect(history.map { $0["outcome"]?.stringValue } == ["failed", "succeeded"])
        #expect(try sandbox.json(["dlq", "list"]) == .array([]))
    }

    @Test func retryRejectsUnknownAndNonDeadIdsAndChangesNothing() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"dies","command":"false","max_retries":0}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState("dies", "dead")
        try sandbox.ok(["worker", "stop"])
        try sandbox.enqueue(#"{"id":"waiting","command":"true"}"#)
        let before = try sandbox.json(["list"])

        for ids in [["dies", "waiting"], ["dies", "no-such-job"], ["waiting"], ["no-such-job"]] {
            let result = try sandbox.run(["dlq", "retry"] + ids)
            #expect(result.status != 0, "dlq retry \(ids) succeeded")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.hasPrefix("error: "))
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
        #expect(try sandbox.run(["dlq", "retry", "no-such-job"]).status == 3)
        #expect(try sandbox.json(["list"]) == before)
        #expect(try sandbox.state("dies") == "dead")
    }
}
