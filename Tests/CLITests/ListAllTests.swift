import Foundation
import QueueCore
import Testing
import TestSupport

/// `list --json` and `dlq list --json` print every job unless --limit is given;
/// tables page by 100 with a note; `--newest` and the DLQ's order.
@Suite struct ListAllTests {
    @Test func jsonListsEveryJobUnlessLimited() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let input = (0..<150).map { #"{"id":"j\#($0)","command":"true"}"# }.joined(separator: "\n")
        try sandbox.ok(["enqueue", "-"], stdin: input)
        let all = try #require(try sandbox.json(["list"]).arrayValue)
        #expect(all.count == 150)
        #expect(all.first?["id"]?.stringValue == "j0" && all.last?["id"]?.stringValue == "j149", "oldest first")
        #expect(try sandbox.json(["list", "--limit", "20"]).arrayValue?.count == 20)
        let page = try #require(try sandbox.json(["list", "--limit", "10", "--offset", "145"]).arrayValue)
        #expect(page.map { $0["id"]?.stringValue } == ["j145", "j146", "j147", "j148", "j149"])
        let pending = try sandbox.ok(["list", "--state", "pending", "--json"])
        #expect(pending.stderr.isEmpty)
        #expect(try JSONValue.parse(pending.stdout).arrayValue?.count == 150)

        let table = try sandbox.ok(["list"])
        #expect(table.stdout.split(separator: "\n").count == 101, "a header and 100 rows")
        #expect(table.stderr.contains("showing 1–100 of 150"), "\(table.stderr)")
        let past = try sandbox.ok(["list", "--offset", "150"])
        #expect(past.stdout.split(separator: "\n").count == 1, "the header alone")
        #expect(past.stderr.contains("no jobs at offset 150 (150 in all)"), "\(past.stderr)")
        #expect(try sandbox.json(["list", "--offset", "150", "--limit", "5"]).arrayValue?.isEmpty == true)

        let newest = try #require(try sandbox.json(["list", "--newest", "--limit", "2"]).arrayValue)
        #expect(newest.map { $0["id"]?.stringValue } == ["j149", "j148"])
        #expect(try sandbox.ok(["list", "--newest", "--limit", "1"]).stdout.contains("j149"))
    }

    @Test func dlqListsEveryDeadJobMostRecentlyDiedFirst() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let input = (0..<150).map { #"{"id":"d\#($0)","command":"exit 1","max_retries":0}"# }.joined(separator: "\n")
        try sandbox.ok(["enqueue", "-"], stdin: input)
        try sandbox.startWorkers(2)
        let reached = try QueueSandbox.waitUntil(timeout: 60) { try sandbox.counts()["dead"] == 150 }
        #expect(reached)
        let dead = try #require(try sandbox.json(["dlq", "list"]).arrayValue)
        #expect(dead.count == 150)
        #expect(try sandbox.json(["dlq", "list", "--limit", "5"]).arrayValue?.count == 5)
        // d0 dies again after a retry: it is now the most recently died.
        try sandbox.ok(["dlq", "retry", "d0"])
        let again = try sandbox.waitForState("d0", "dead")
        #expect(again["history"]?.arrayValue?.count == 2)
        let first = try #require(try sandbox.json(["dlq", "list", "--limit", "1"]).arrayValue?.first)
        #expect(first["id"]?.stringValue == "d0")
        let times = try #require(try sandbox.json(["dlq", "list"]).arrayValue).compactMap { $0.time("updated_at") }
        #expect(times == times.sorted(by: >), "most recently died first")
        #expect(try sandbox.ok(["dlq", "list"]).stdout.split(separator: "\n").dropFirst().first?.hasPrefix("d0") == true)
    }
}
