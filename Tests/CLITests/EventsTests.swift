import Foundation
import QueueCore
import Testing
import TestSupport

/// `queuectl events`: each state change once, in order, as lines or NDJSON, and
/// `--follow` printing new ones as they happen.
@Suite struct EventsTests {
    static func events(_ sandbox: QueueSandbox, _ arguments: [String] = []) throws -> [JSONValue] {
        try sandbox.ok(["events", "--json"] + arguments).lines.map { try JSONValue.parse($0) }
    }

    @Test func eachJobsChangesAreListedInOrder() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("backoff-base", "1")])
        try sandbox.enqueue(#"{"id":"ok","command":"true"}"#)
        try sandbox.enqueue(#"{"id":"bad","command":"exit 4","max_retries":1}"#)
        try sandbox.enqueue(#"{"id":"after","command":"true","depends_on":["bad"]}"#)
        try sandbox.enqueue(#"{"id":"never","command":"true","delay":3600}"#)
        try sandbox.ok(["cancel", "never"])
        try sandbox.startWorkers(1)
        try sandbox.run(["wait", "ok", "bad", "after", "--timeout", "15"])
        let all = try Self.events(sandbox, ["--since", "1h"])
        func kinds(_ id: String) -> [String] { all.filter { $0["job_id"]?.stringValue == id }.compactMap { $0["event"]?.stringValue } }
        #expect(kinds("ok") == ["enqueued", "started", "succeeded"])
        #expect(kinds("bad") == ["enqueued", "started", "failed", "retrying", "started", "failed", "dead"])
        #expect(kinds("after") == ["enqueued", "cancelled"])
        #expect(kinds("never") == ["enqueued", "cancelled"])
        let times = all.compactMap { $0.time("at") }
        #expect(times == times.sorted())
        // The default is the last 20; --last picks how many.
        #expect(try Self.events(sandbox, ["--last", "3"]).count == 3)
        let text = try sandbox.ok(["events", "--last", "1"]).stdout
        #expect(text.contains("  after  ") || text.contains("  bad  "), "\(text)")
        #expect(try sandbox.run(["events", "--since", "yesterday-ish"]).status == 64)
    }

    @Test func followPrintsNewEventsAsTheyHappen() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.startWorkers(1)   // creates the queue the follower opens
        let output = sandbox.path("follow.ndjson")
        FileManager.default.createFile(atPath: output, contents: nil)
        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: QueueSandbox.binaryPath)
        follower.arguments = ["--db", sandbox.address, "events", "--follow", "--json"]
        follower.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        follower.standardError = FileHandle.nullDevice
        try follower.run()
        // SIGKILL: the test runner starts children with SIGTERM blocked.
        defer { kill(follower.processIdentifier, SIGKILL); follower.waitUntilExit() }
        try sandbox.enqueue(#"{"id":"live","command":"true"}"#)
        let seen = QueueSandbox.waitUntil(timeout: 10) {
            ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").contains(#""job_id":"live","event":"succeeded""#)
        }
        #expect(seen, "\((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")
    }
}
