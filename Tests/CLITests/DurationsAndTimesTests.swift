import Foundation
import QueueCore
import Testing
import TestSupport

/// Durations as people type them (90s, 5m, 1h, 2d) wherever seconds are taken, and
/// times in local time (HH:MM, YYYY-MM-DD HH:MM) wherever a time is.
@Suite struct DurationsAndTimesTests {
    @Test func flagsJobFieldsAndConfigTakeDurations() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let flagged = try sandbox.json(["enqueue", "--command", "true", "--delay", "5m", "--timeout", "1h"])
        let created = try #require(flagged.time("created_at"))
        #expect(flagged.time("run_at").map { $0.seconds(since: created) } == 300)
        #expect(flagged["timeout"]?.intValue == 3600, "--json keeps seconds")
        let fields = try sandbox.json(["enqueue", #"{"command":"true","delay":"90s","timeout":"2d"}"#])
        let fieldsCreated = try #require(fields.time("created_at"))
        #expect(fields.time("run_at").map { $0.seconds(since: fieldsCreated) } == 90)
        #expect(fields["timeout"]?.intValue == 172_800)
        let id = try #require(fields["id"]?.stringValue)
        #expect(try sandbox.ok(["show", id]).stdout.contains("timeout     2d"))

        #expect(try sandbox.ok(["config", "set", "job-timeout", "10m"]).stdout == "job-timeout = 10m\n")
        #expect(try sandbox.ok(["config", "get", "job-timeout"]).stdout == "600\n", "config get prints seconds for scripts")
        try sandbox.ok(["config", "set", "backoff-max", "1d"])
        let list = try sandbox.ok(["config", "list"]).stdout
        var values: [String: String] = [:]
        for line in list.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count >= 2 { values[String(words[0])] = String(words[1]) }
        }
        #expect(values["job-timeout"] == "10m" && values["backoff-max"] == "1d", "\(list)")

        #expect(try sandbox.run(["worker", "stop", "--timeout", "90s"]).status == 0, "worker stop takes a duration")
        for bad in [["worker", "stop", "--timeout", "soon"], ["enqueue", "--command", "true", "--delay", "-5m"], ["enqueue", "--command", "true", "--timeout", "5x"],
                    ["enqueue", #"{"command":"true","delay":"soon"}"#], ["config", "set", "lease-timeout", "1.5s"]] {
            let result = try sandbox.run(bad)
            #expect(result.status == 64 && result.stderr.hasPrefix("error: "), "\(bad): \(result)")
        }
    }

    @Test func localTimesAreTakenInTheLocalZone() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let tokyo = ["TZ": "Asia/Tokyo"]   // UTC+9, no daylight saving
        func runAt(_ arguments: [String]) throws -> Timestamp? {
            let result = try sandbox.run(arguments + ["--json"], environment: tokyo)
            guard result.status == 0 else { throw TestFailure("\(arguments): \(result)") }
            return try JSONValue.parse(result.stdout).time("run_at")
        }
        #expect(try runAt(["enqueue", "--command", "true", "--at", "2027-01-05 10:30"])?.iso8601 == "2027-01-05T01:30:00.000Z")
        #expect(try runAt(["enqueue", #"{"command":"true","run_at":"2027-01-05T10:30"}"#])?.iso8601 == "2027-01-05T01:30:00.000Z")
        #expect(try runAt(["enqueue", "--command", "true", "--run-at", "2027-01-05T10:30:00+09:00"])?.iso8601 == "2027-01-05T01:30:00.000Z")
        let before = Timestamp.now()
        let next = try #require(try runAt(["enqueue", "--command", "true", "--at", "10:30"]))
        #expect(next > before && next.seconds(since: before) <= 86_400, "the next 10:30: \(next)")
        #expect(next.iso8601.contains("T01:30:00.000Z"), "10:30 in Tokyo is 01:30 UTC: \(next)")
        for bad in ["24:00", "10:60", "2027-02-30 10:00", "10h30", "tomorrow"] {
            let result = try sandbox.run(["enqueue", "--command", "true", "--at", bad], environment: tokyo)
            #expect(result.status == 64 && result.stderr.contains("must be a time"), "\(bad): \(result)")
        }
    }
}
