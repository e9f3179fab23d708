import Foundation
import QueueCore
import Testing
import TestSupport

/// `queuectl enqueue JSON` (with `--db` and `--json` at most) skips the argument
/// parser for speed. Each case runs the short form and the same request forced
/// through ArgumentParser (a `--` before the JSON), each in its own fresh queue, and
/// expects the same exit status, output and stored job.
@Suite struct SimpleEnqueueTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var label: String
        var simple: [String]
        var parsed: [String]
        var stdin: String?
        var testDescription: String { label }
    }

    static let job = #"{"id":"same","command":"echo hi","priority":2,"max_retries":1,"timeout":30}"#

    static let cases: [Case] = [
        Case(label: "a job", simple: ["enqueue", job], parsed: ["enqueue", "--", job]),
        Case(label: "--json after the job", simple: ["enqueue", job, "--json"], parsed: ["enqueue", "--json", "--", job]),
        Case(label: "--json before the job", simple: ["enqueue", "--json", job], parsed: ["enqueue", "--json", "--", job]),
        Case(label: "invalid JSON", simple: ["enqueue", "{bad"], parsed: ["enqueue", "--", "{bad"]),
        Case(label: "no command", simple: ["enqueue", #"{"id":"x"}"#], parsed: ["enqueue", "--", #"{"id":"x"}"#]),
        Case(label: "an unknown field", simple: ["enqueue", #"{"command":"true","retries":2}"#],
             parsed: ["enqueue", "--", #"{"command":"true","retries":2}"#]),
        Case(label: "an id that exists", simple: ["enqueue", #"{"id":"existing","command":"true"}"#],
             parsed: ["enqueue", "--", #"{"id":"existing","command":"true"}"#]),
        Case(label: "JSON lines on stdin", simple: ["enqueue", "-"], parsed: ["enqueue", "--", "-"],
             stdin: "{\"id\":\"l1\",\"command\":\"true\"}\n{\"id\":\"l2\",\"command\":\"false\"}\n"),
        Case(label: "a bad line on stdin", simple: ["enqueue", "-", "--json"], parsed: ["enqueue", "--json", "--", "-"],
             stdin: "{\"id\":\"l1\",\"command\":\"true\"}\n{\"id\":\"l2\"}\n"),
        Case(label: "nothing on stdin", simple: ["enqueue", "-"], parsed: ["enqueue", "--", "-"], stdin: ""),
    ]

    @Test(arguments: cases)
    func shortFormMatchesTheParsedCommand(_ example: Case) throws {
        let (simple, simpleJobs) = try outcome(example.simple, stdin: example.stdin)
        let (parsed, parsedJobs) = try outcome(example.parsed, stdin: example.stdin)
        #expect(simple.status == parsed.status, "\(simple) vs \(parsed)")
        #expect(simple.stderr == parsed.stderr)
        #expect(Self.withoutTimes(simple.stdout) == Self.withoutTimes(parsed.stdout))
        #expect(simpleJobs == parsedJobs)
    }

    @Test func dbOptionIsHonouredInBothForms() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        // Without the sandbox's own --db, so the one given here is the only one.
        let environment = ["QUEUECTL_DB": sandbox.address]
        func raw(_ arguments: [String]) throws -> CLIResult { try sandbox.runRaw(arguments, environment: environment) }
        let other = sandbox.directory + "/other.db"
        for arguments in [["enqueue", #"{"id":"s1","command":"true"}"#, "--db", other],
                          ["enqueue", "--db=" + other, #"{"id":"s2","command":"true"}"#],
                          ["--db", other, "enqueue", #"{"id":"s3","command":"true"}"#]] {
            let result = try raw(arguments)
            #expect(result.status == 0, "\(arguments): \(result)")
        }
        let listed = try JSONValue.parse(try raw(["list", "--json", "--db", other]).stdout)
        let ids = listed.arrayValue?.compactMap { $0["id"]?.stringValue }
        #expect(ids == ["s1", "s2", "s3"])
        #expect(try raw(["enqueue", #"{"id":"s4","command":"true"}"#]).status == 0)
        #expect(try sandbox.json(["list"]).arrayValue?.compactMap { $0["id"]?.stringValue } == ["s4"])

        let missing = sandbox.directory + "/no-such-folder/q.db"
        let simple = try raw(["enqueue", #"{"command":"true"}"#, "--db", missing])
        let parsed = try raw(["enqueue", "--db", missing, "--", #"{"command":"true"}"#])
        #expect(simple.status == 1)
        #expect(simple.status == parsed.status && simple.stderr == parsed.stderr)
        #expect(!FileManager.default.fileExists(atPath: sandbox.directory + "/no-such-folder"))
    }

    @Test func otherFormsStillGoThroughTheParser() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it checks that no database file is created.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let help = try sandbox.ok(["enqueue", "--help"])
        #expect(help.stdout.contains("USAGE: queuectl enqueue"))
        let twoJobs = try sandbox.run(["enqueue", #"{"command":"true"}"#, #"{"command":"true"}"#])
        #expect(twoJobs.status == 64)
        #expect(twoJobs.stderr.hasPrefix("error: "))
        let mixed = try sandbox.run(["enqueue", #"{"command":"true"}"#, "--priority", "3"])
        #expect(mixed.status == 64)
        #expect(mixed.stderr.contains("go with --command"))
        #expect(!FileManager.default.fileExists(atPath: db), "nothing written, not even a new database")
    }

    /// Runs `arguments` on a fresh queue holding one job `existing`; returns the
    /// result and every stored job without its timestamps.
    private func outcome(_ arguments: [String], stdin: String?) throws -> (CLIResult, [String]) {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"existing","command":"echo original"}"#)
        let result = try sandbox.run(arguments, stdin: stdin)
        let jobs = try sandbox.json(["list"]).arrayValue ?? []
        return (result, jobs.map { Self.withoutTimes($0.serialized()) })
    }

    /// JSON text with its generated parts (times) blanked, so two runs compare equal.
    static func withoutTimes(_ text: String) -> String {
        text.replacingOccurrences(of: #""\d{4}-\d\d-\d\dT[0-9:.]+Z""#, with: "\"<time>\"", options: .regularExpression)
    }
}
