import Foundation
import QueueCore
import Testing
import TestSupport

/// Recurring schedules fired by running workers: each tick exactly once under
/// contention, missed ticks once, pause and remove, and bad input.
@Suite struct ScheduleTests {
    /// Tick times from the `NAME@TICK` ids the jobs wrote, in order.
    private static func ticks(_ lines: [String]) -> [Timestamp] {
        lines.compactMap { $0.split(separator: "@").last.flatMap { Timestamp(iso8601: String($0)) } }
    }

    @Test func eachTickFiresExactlyOnceWithManyWorkers() throws {
        let sandbox = try QueueSandbox(name: "schedule-once")
        defer { sandbox.cleanup() }
        try sandbox.ok(["worker", "start", "--count", "4"])
        try sandbox.ok(["schedule", "add", "tick", "--every", "1s", #"{"command":"echo $QUEUECTL_JOB_ID >> \#(sandbox.path("ticks"))"}"#])
        #expect(QueueSandbox.waitUntil(timeout: 15) { sandbox.lines(of: "ticks").count >= 4 })
        try sandbox.ok(["schedule", "pause", "tick"])
        Thread.sleep(forTimeInterval: 0.3)
        let lines = sandbox.lines(of: "ticks")
        #expect(Set(lines).count == lines.count, "a tick ran twice: \(lines)")
        let times = Self.ticks(lines).sorted()
        #expect(times.count == lines.count)
        // Consecutive ticks of the grid, none skipped, none doubled.
        for (a, b) in zip(times, times.dropFirst()) { #expect(b.milliseconds - a.milliseconds == 1000, "\(times)") }
        #expect(try sandbox.counts()["completed"] == lines.count)
        let listed = try sandbox.json(["list", "--schedule", "tick"]).arrayValue?.compactMap { $0["id"]?.stringValue }
        #expect(listed == lines.sorted())
        // Each job it fired names the schedule.
        let schedules = try sandbox.json(["list", "--schedule", "tick"]).arrayValue?.map { $0["schedule"] }
        #expect(schedules?.isEmpty == false && schedules?.allSatisfy { $0 == .string("tick") } == true, "\(String(describing: schedules))")
        let shown = try sandbox.ok(["show", try #require(listed?.first)]).stdout
        #expect(shown.contains("schedule") && shown.contains("tick"), "\(shown)")
        // Paused: no more ticks.
        Thread.sleep(forTimeInterval: 1.5)
        #expect(sandbox.lines(of: "ticks").count == lines.count)
    }

    @Test func ticksMissedWhileNoWorkerRanFireOnce() throws {
        let sandbox = try QueueSandbox(name: "schedule-missed")
        defer { sandbox.cleanup() }
        let added = try sandbox.json(["schedule", "add", "tick", "--every", "1s", #"{"command":"echo $QUEUECTL_JOB_ID >> \#(sandbox.path("ticks"))"}"#])
        let first = try #require(added.time("next_run_at"))
        Thread.sleep(forTimeInterval: 3.2)   // three ticks pass with no worker
        try sandbox.ok(["worker", "start"])
        #expect(QueueSandbox.waitUntil(timeout: 10) { !sandbox.lines(of: "ticks").isEmpty })
        Thread.sleep(forTimeInterval: 0.5)
        let lines = sandbox.lines(of: "ticks")
        // The due tick fired once; the next one is after the worker started.
        #expect(Self.ticks(lines).first == first, "\(lines)")
        #expect(Self.ticks(lines).filter { $0 < Timestamp.now().adding(seconds: -1.2) }.count == 1, "\(lines)")
        try sandbox.ok(["schedule", "remove", "tick"])
        #expect(try sandbox.json(["schedule", "list"]).arrayValue?.isEmpty == true)
    }

    @Test func catchUpAllFiresEachMissedTick() throws {
        let sandbox = try QueueSandbox(name: "schedule-catch-up")
        defer { sandbox.cleanup() }
        let added = try sandbox.json(["schedule", "add", "tick", "--every", "1s", "--catch-up", "all",
                                      #"{"command":"echo $QUEUECTL_JOB_ID >> \#(sandbox.path("ticks"))"}"#])
        #expect(added["catch_up"]?.stringValue == "all")
        let first = try #require(added.time("next_run_at"))
        Thread.sleep(forTimeInterval: 3.3)   // ticks at +1, +2 and +3 s pass with no worker
        let started = Timestamp.now()
        try sandbox.ok(["worker", "start"])
        #expect(QueueSandbox.waitUntil(timeout: 10) { sandbox.lines(of: "ticks").count >= 3 })
        try sandbox.ok(["schedule", "pause", "tick"])
        let missed = Self.ticks(sandbox.lines(of: "ticks")).sorted().filter { $0 < started }
        #expect(missed == [first, first.adding(seconds: 1), first.adding(seconds: 2)], "\(sandbox.lines(of: "ticks"))")
    }

    @Test func resumingBeforeTheNextTickKeepsIt() throws {
        let sandbox = try QueueSandbox(name: "schedule-resume")
        defer { sandbox.cleanup() }
        let added = try sandbox.json(["schedule", "add", "hourly", "--every", "1h", #"{"command":"true"}"#])
        let next = try #require(added.time("next_run_at"))
        try sandbox.ok(["schedule", "pause", "hourly"])
        try sandbox.ok(["schedule", "resume", "hourly"])
        let resumed = try #require(try sandbox.json(["schedule", "list"]).arrayValue?.first)
        #expect(resumed.time("next_run_at") == next, "\(resumed)")
    }

    @Test func badSchedulesAreRefusedWithoutChanges() throws {
        let sandbox = try QueueSandbox(name: "schedule-input")
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"kept","command":"true"}"#)   // creates the database
        let job = #"{"command":"true"}"#
        for (arguments, code) in [
            (["schedule", "add", "a", "--cron", "61 * * * *", job], 64),
            (["schedule", "add", "a", "--cron", "* * * *", job], 64),
            (["schedule", "add", "a", "--cron", "@daily", "--tz", "Mars/Olympus", job], 64),
            (["schedule", "add", "a", "--every", "soon", job], 64),
            (["schedule", "add", "a", "--every", "5m", "--cron", "@daily", job], 64),
            (["schedule", "add", "a@b", "--every", "5m", job], 64),
            (["schedule", "add", "a", "--every", "5m", #"{"command":"true","run_at":"2030-01-01T00:00:00Z"}"#], 64),
            (["schedule", "add", "a", "--every", "5m", #"{"command":""}"#], 64),
            (["schedule", "add", "a", "--every", "5m", "--catch-up", "some", job], 64),
            (["schedule", "remove", "nope"], 3),
            (["schedule", "pause", "nope"], 3),
        ] as [([String], Int32)] {
            let result = try sandbox.run(arguments)
            #expect(result.status == code, "\(arguments): \(result)")
            #expect(result.stderr.hasPrefix("error:"), "\(arguments): \(result.stderr)")
        }
        #expect(try sandbox.json(["schedule", "list"]).arrayValue?.isEmpty == true)
    }
}
