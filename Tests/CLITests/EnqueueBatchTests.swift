import Foundation
import QueueCore
import Testing
import TestSupport

/// `enqueue -`: JSON lines or one array, in one transaction (all or nothing), and
/// the `--command` convenience form.
@Suite struct EnqueueBatchTests {
    @Test func jsonLinesAreAllEnqueuedInOrder() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let input = """
            {"id":"l1","command":"true"}

            {"id":"l2","command":"true","priority":3}
            {"command":"true"}
            """
        let result = try sandbox.ok(["enqueue", "-"], stdin: input + "\n")
        #expect(result.lines.count == 3)
        #expect(Array(result.lines.prefix(2)) == ["l1", "l2"])
        let listed = try sandbox.json(["list"]).arrayValue?.compactMap { $0["id"]?.stringValue }
        #expect(listed == result.lines)
        #expect(try sandbox.job("l2")["priority"]?.intValue == 3)
    }

    @Test func oneJSONArrayWorksToo() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let result = try sandbox.ok(["enqueue", "-", "--json"], stdin: #"[{"id":"a1","command":"true"},{"id":"a2","command":"false","max_retries":0}]"#)
        let jobs = try #require(try JSONValue.parse(result.stdout).arrayValue)
        #expect(jobs.map { $0["id"]?.stringValue } == ["a1", "a2"])
        #expect(jobs.allSatisfy { $0["state"]?.stringValue == "pending" })
        #expect(try sandbox.counts()["pending"] == 2)
    }

    @Test(arguments: [
        ("a job without command", "{\"id\":\"b1\",\"command\":\"true\"}\n{\"id\":\"b2\",\"command\":\"true\"}\n{\"id\":\"b3\"}\n"),
        ("a duplicate id within the batch", "{\"id\":\"b1\",\"command\":\"true\"}\n{\"id\":\"b2\",\"command\":\"true\"}\n{\"id\":\"b1\",\"command\":\"true\"}\n"),
        ("an id that already exists", "{\"id\":\"b1\",\"command\":\"true\"}\n{\"id\":\"existing\",\"command\":\"echo replaced\"}\n"),
        ("a line that is not JSON", "{\"id\":\"b1\",\"command\":\"true\"}\n{\"id\":\"b2\",\"command\":\"true\"\n"),
        ("two values on one line", "{\"id\":\"b1\",\"command\":\"true\"} {\"id\":\"b2\",\"command\":\"true\"}\n"),
        ("a wrong type", "{\"id\":\"b1\",\"command\":\"true\"}\n{\"id\":\"b2\",\"command\":\"true\",\"max_retries\":\"2\"}\n"),
        ("an array with a bad element", "[{\"id\":\"b1\",\"command\":\"true\"}, {\"id\":\"b2\",\"command\":\"\"}]"),
    ])
    func batchWithOneBadJobEnqueuesNothing(_ label: String, _ input: String) throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"existing","command":"echo original"}"#)
        let result = try sandbox.run(["enqueue", "-"], stdin: input)
        #expect(result.status == 64, "\(label): \(result)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("error: "))
        #expect(try sandbox.counts() == ["pending": 1, "processing": 0, "completed": 0, "failed": 0, "dead": 0, "scheduled": 0, "blocked": 0, "cancelled": 0])
        #expect(try sandbox.run(["show", "b1"]).status == 3)
        #expect(try sandbox.job("existing")["command"]?.stringValue == "echo original")
    }

    @Test func badJobErrorNamesItsPosition() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let result = try sandbox.run(["enqueue", "-"], stdin: "{\"command\":\"true\"}\n{\"command\":\"true\"}\n{\"command\":\"\"}\n")
        #expect(result.status == 64)
        #expect(result.stderr.contains("job 3"), "\(result.stderr)")
    }

    @Test func commandFlagFormSetsEveryField() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.ok(["enqueue", "--command", "echo 'quoted words'", "--id", "flags", "--max-retries", "7",
                        "--priority", "-2", "--timeout", "30", "--run-at", "2031-02-03T04:05:06Z"])
        let job = try sandbox.job("flags")
        #expect(job["command"]?.stringValue == "echo 'quoted words'")
        #expect(job["max_retries"]?.intValue == 7)
        #expect(job["priority"]?.intValue == -2)
        #expect(job["timeout"]?.doubleValue == 30)
        #expect(job["run_at"]?.stringValue == "2031-02-03T04:05:06.000Z")
        let generated = try sandbox.ok(["enqueue", "--command", "true", "--delay", "60"]).stdout.trimmingCharacters(in: .newlines)
        let delayed = try sandbox.job(generated)
        let delay = try #require(delayed.time("run_at")).seconds(since: try #require(delayed.time("created_at")))
        #expect(delay == 60)
        #expect(try sandbox.run(["enqueue", #"{"command":"true"}"#, "--command", "true"]).status == 64)
    }
}

/// What a command string goes through: storage, JSON output, the shell.
@Suite struct CommandFidelityTests {
    @Test func awkwardCommandsRoundTripExactly() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let command = "printf '%s\\n' \"quote\\\" back\\\\slash\ttab é 😀\" # \u{01}"
        let json = JSONValue.object([("id", .string("odd")), ("command", .string(command))]).serialized()
        try sandbox.enqueue(json)
        #expect(try sandbox.job("odd")["command"]?.stringValue == command)
        #expect(try sandbox.json(["list"]).arrayValue?.first?["command"]?.stringValue == command)
        #expect(try sandbox.ok(["list"]).stdout.contains("odd"))
    }

    @Test func jobsGetNoTerminalInput() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"reader","command":"cat; read line; echo read-status=$?"}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState("reader", "completed", timeout: 5)
        #expect(try sandbox.run(["logs", "reader"]).stdout == "read-status=1\n")
    }

    @Test func explicitDatabaseInAMissingFolderIsAnErrorAndCreatesNothing() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it names a database file in a missing folder.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let missing = sandbox.path("typo/queue.db")
        let result = try QueueSandbox.exec(QueueSandbox.binaryPath, ["--db", missing, "enqueue", #"{"command":"true"}"#])
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.isEmpty && result.stderr.hasPrefix("error: "))
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("typo")))
    }
}
