import Foundation
import QueueCore
import Testing
import TestSupport

/// Bad input of every kind: a distinct non-zero exit, one `error:` line on stderr,
/// nothing on stdout, and nothing written to the database.
@Suite struct InvalidInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var status: Int32 = 64
        var stdin: String? = nil
        /// Something the error line must name (the field or value at fault).
        var mentions: String? = nil
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(arguments: ["enqueue", #"{"command":"#]),
        Case(arguments: ["enqueue", "not json"]),
        Case(arguments: ["enqueue", #"{"command":"echo hi"} trailing"#]),
        Case(arguments: ["enqueue", "{}"]),
        Case(arguments: ["enqueue", #"{"id":"x"}"#]),
        Case(arguments: ["enqueue", #"{"command":""}"#]),
        Case(arguments: ["enqueue", #"{"command":"   "}"#]),
        Case(arguments: ["enqueue", #"{"command":42}"#]),
        Case(arguments: ["enqueue", #"{"command":null}"#]),
        Case(arguments: ["enqueue", #"{"command":"x","max_retries":"3"}"#]),
        Case(arguments: ["enqueue", #"{"command":"x","max_retries":-1}"#]),
        Case(arguments: ["enqueue", #"{"command":"x","max_retries":2.5}"#]),
        Case(arguments: ["enqueue", #"{"command":"x","priority":"high"}"#]),
        Case(arguments: ["enqueue", #"{"command":"x","timeout":"10 minutes"}"#]),
        Case(arguments: ["enqueue", #"{"command":"x","timeout":-1}"#]),
        Case(arguments: ["enqueue", #"{"command":"x","delay":-1}"#]),
        Case(arguments: ["enqueue", #"{"command":"x","run_at":"tomorrow"}"#]),
        Case(arguments: ["enqueue", #"{"command":"x","run_at":"2030-01-01T00:00:00Z","delay":1}"#]),
        Case(arguments: ["enqueue", #"{"command":"x","colour":"red"}"#]),
        Case(arguments: ["enqueue", #"{"command":"x","command":"y"}"#]),
        Case(arguments: ["enqueue", #"{"id":"taken","command":"echo replaced"}"#], mentions: "already exists"),
        Case(arguments: ["enqueue", #"{"id":"bad id","command":"x"}"#]),
        Case(arguments: ["enqueue", #"[{"command":"x"}]"#]),
        Case(arguments: ["enqueue"]),
        Case(arguments: ["enqueue", "--command", ""]),
        Case(arguments: ["enqueue", "--command", "x", "--max-retries", "-1"], mentions: "max_retries"),
        Case(arguments: ["enqueue", "--command", "x", "--delay", "-5"], mentions: "delay"),
        Case(arguments: ["enqueue", "--command", "x", "--timeout", "-1"], mentions: "timeout"),
        Case(arguments: ["enqueue", "--command", "x", "--run-at", "noon"]),
        Case(arguments: ["enqueue", "--command", "x", "--id", "taken"]),
        Case(arguments: ["enqueue", "-"], stdin: ""),
        Case(arguments: ["enqueue", "-"], stdin: "{\"command\":\"ok\"}\n{\"command\":\"\"}\n"),
        Case(arguments: ["list", "--state", "bogus"], mentions: "bogus"),
        Case(arguments: ["list", "--limit", "0"]),
        Case(arguments: ["dlq", "retry", "taken"]),
        Case(arguments: ["dlq", "retry", "nope"], status: 3),
        Case(arguments: ["show", "nope"], status: 3),
        Case(arguments: ["logs", "nope"], status: 3),
        Case(arguments: ["logs", "taken"], status: 3),
        Case(arguments: ["config", "set", "bogus", "1"]),
        Case(arguments: ["config", "get", "bogus"]),
        Case(arguments: ["config", "unset", "bogus"]),
        Case(arguments: ["config", "set", "max-retries", "-1"], mentions: "out of range"),
        Case(arguments: ["config", "set", "max_retries", "many"]),
        Case(arguments: ["config", "set", "backoff-base", "0.5"]),
        Case(arguments: ["config", "set", "lease-timeout", "0"]),
        Case(arguments: ["config", "set", "max-retries"]),
        Case(arguments: ["worker", "start", "--count", "0"]),
        Case(arguments: ["frobnicate"]),
    ]

    @Test(arguments: cases)
    func rejectedCleanlyWithNothingWritten(_ c: Case) throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"taken","command":"echo original"}"#)
        try sandbox.ok(["config", "set", "max-retries", "4"])
        let jobsBefore = try sandbox.json(["list"])
        let configBefore = try sandbox.json(["config", "list"])

        let result = try sandbox.run(c.arguments, stdin: c.stdin)
        #expect(result.status == c.status, "\(result)")
        #expect(result.stdout.isEmpty, "stdout: \(result.stdout)")
        let errorLines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(errorLines.count == 1, "stderr: \(result.stderr)")
        #expect(errorLines.first?.hasPrefix("error: ") == true, "stderr: \(result.stderr)")
        if let mentions = c.mentions { #expect(result.stderr.contains(mentions), "stderr: \(result.stderr)") }

        #expect(try sandbox.json(["list"]) == jobsBefore)
        #expect(try sandbox.json(["config", "list"]) == configBefore)
        #expect(try sandbox.job("taken")["command"]?.stringValue == "echo original")
        #expect(try sandbox.json(["worker", "list"]) == .array([]))
    }

    @Test func invalidUTF8OnStdinIsRejected() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it checks that no database file is created.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let bytes = Data(#"{"command":"echo "#.utf8) + Data([0xFF, 0xFE]) + Data("\"}\n".utf8)
        let result = try sandbox.runRaw(["--db", db, "enqueue", "-"], stdin: bytes, environment: [:])
        #expect(result.status == 64, "\(result)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("UTF-8"))
        #expect(!FileManager.default.fileExists(atPath: db), "nothing written, not even a new database")
    }

    @Test func invalidUTF8InAnArgumentIsRejectedNotAltered() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it checks that no database file is created.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        // Only a shell can hand raw bytes to argv (Process takes Strings).
        for form in [#"enqueue --command "$(printf 'echo \377')""#, #"enqueue "$(printf '{"command":"echo \377"}')""#] {
            let result = try QueueSandbox.exec("/bin/sh", ["-c", #"exec "$0" --db "$1" "# + form, QueueSandbox.binaryPath, db])
            #expect(result.status == 64, "\(form): \(result)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("UTF-8"), "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: db), "nothing written, not even a new database")
    }

    @Test func anUnknownStateErrorListsTheValidStates() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"command":"true"}"#)
        let result = try sandbox.run(["list", "--state", "bogus"])
        #expect(result.status == 64)
        let states = JobState.allCases.map(\.rawValue).joined(separator: ", ")
        #expect(result.stderr.hasSuffix("one of the following: \(states) (see --help)\n"),
                "\(result.stderr)")
    }

    @Test func aNegativeNumberIsRefusedForItsValueNotAsMissing() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"a","command":"true"}"#)
        for (arguments, message) in [
            (["list", "--limit", "-1"], "--limit must be at least 1"), (["list", "--offset", "-1"], "--offset must not be negative"),
            (["dlq", "list", "--limit", "-1"], "--limit must be at least 1"), (["worker", "start", "--count", "-1"], "--count must be from 1 to 256"),
            (["worker", "stop", "--timeout", "-1"], "the value '-1' is invalid for '--timeout"),
            (["schedule", "add", "s", "--every", "-5s", #"{"command":"true"}"#], "--every must be a duration"),
        ] {
            let result = try sandbox.run(arguments)
            #expect(result.status == 64 && result.stderr.hasPrefix("error: \(message)"), "\(arguments): \(result)")
        }
    }

    @Test func unknownConfigKeyErrorListsTheValidKeys() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let result = try sandbox.run(["config", "set", "retries", "3"])
        #expect(result.status == 64)
        for key in ["max-retries", "backoff-base", "backoff-max", "job-timeout", "lease-timeout"] {
            #expect(result.stderr.contains(key), "\(result.stderr)")
        }
        let range = try sandbox.run(["config", "set", "backoff-base", "0"])
        #expect(range.stderr.contains("1"), "the error should give the accepted range: \(range.stderr)")
    }
}
