import Foundation
import QueueCore
import Testing
import TestSupport

/// Named queues: which workers serve them, their concurrency caps (exact under
/// contention, judged from the jobs' own clocks), pause and resume, turns across
/// queues, and `queue list`.
@Suite struct QueueTests {
    /// A job that appends "<ns> start" and "<ns> end" lines to `file`, its own clock
    /// around a `seconds` sleep.
    private static func timedJob(_ file: String, queue: String, seconds: Double) -> String {
        #"{"command":"echo $(date +%s%N) start >> \#(file); sleep \#(seconds); echo $(date +%s%N) end >> \#(file)","queue":"\#(queue)"}"#
    }

    /// The most runs that overlapped at any instant, from "<ns> start|end" lines
    /// (an end and a start at the same nanosecond do not overlap).
    private static func maxOverlap(_ lines: [String]) -> Int {
        let events = lines.compactMap { line -> (Int64, Int)? in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let t = Int64(parts[0]) else { return nil }
            return (t, parts[1] == "start" ? 1 : -1)
        }.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var running = 0, most = 0
        for (_, step) in events {
            running += step
            most = max(most, running)
        }
        return most
    }

    @Test func concurrencyCapsHoldUnderContention() throws {
        let sandbox = try QueueSandbox(name: "queue-limits")
        defer { sandbox.cleanup() }
        try sandbox.ok(["queue", "set", "one", "--concurrency", "1"])
        try sandbox.ok(["queue", "set", "two", "--concurrency", "2"])
        // Interleaved, so every queue has work from the start.
        var lines: [String] = []
        for i in 0..<12 {
            for (queue, count) in [("one", 8), ("two", 12), ("free", 12)] where i < count {
                lines.append(Self.timedJob(sandbox.path(queue), queue: queue, seconds: 0.1))
            }
        }
        try sandbox.ok(["enqueue", "-"], stdin: lines.joined(separator: "\n"))
        try sandbox.ok(["worker", "start", "--count", "6"])
        #expect(QueueSandbox.waitUntil(timeout: 40) { (try? sandbox.counts()["completed"]) == 32 })

        for (queue, runs) in [("one", 8), ("two", 12), ("free", 12)] {
            #expect(sandbox.lines(of: queue).count == 2 * runs, "\(queue): \(sandbox.lines(of: queue))")
        }
        #expect(Self.maxOverlap(sandbox.lines(of: "one")) == 1)
        #expect(Self.maxOverlap(sandbox.lines(of: "two")) <= 2)
        // The workers could have run more at once: the uncapped queue did.
        #expect(Self.maxOverlap(sandbox.lines(of: "free")) > 2)
        let listed = try sandbox.json(["queue", "list"]).arrayValue ?? []
        let one = listed.first { $0["name"]?.stringValue == "one" }
        #expect(one?["concurrency"]?.intValue == 1 && one?["jobs"]?["completed"]?.intValue == 8)
    }

    @Test func workersServeOnlyTheirQueuesAndTakeQueuesInTurns() throws {
        let sandbox = try QueueSandbox(name: "queue-serve")
        defer { sandbox.cleanup() }
        let order = sandbox.path("order")
        func job(_ id: String, _ queue: String, priority: Int = 0) -> String {
            #"{"id":"\#(id)","command":"echo \#(id) >> \#(order)","queue":"\#(queue)","priority":\#(priority)}"#
        }
        // All of a first, then b (higher priority in b does not jump the turns).
        let jobs = (1...3).map { job("a\($0)", "a") } + (1...3).map { job("b\($0)", "b", priority: 9) } + [job("c1", "c")]
        try sandbox.ok(["enqueue", "-"], stdin: jobs.joined(separator: "\n"))
        try sandbox.ok(["worker", "start", "--queue", "a,b"])
        #expect(QueueSandbox.waitUntil(timeout: 20) { sandbox.lines(of: "order").count == 6 })
        #expect(sandbox.lines(of: "order") == ["a1", "b1", "a2", "b2", "a3", "b3"])
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try sandbox.state("c1") == "pending", "a worker serving a,b ran a job of queue c")
        #expect(try sandbox.json(["list", "--queue", "c"]).arrayValue?.compactMap { $0["id"]?.stringValue } == ["c1"])
        #expect(try sandbox.json(["list", "--queue", "b", "--state", "completed"]).arrayValue?.count == 3)
        try sandbox.ok(["worker", "start", "--queue", "c"])
        try sandbox.waitForState("c1", "completed")
        // `worker list` says which queues each worker serves.
        let served = try sandbox.json(["worker", "list"]).arrayValue?.map { $0["queues"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        #expect(served?.sorted { $0.count > $1.count } == [["a", "b"], ["c"]])
        #expect(try sandbox.ok(["worker", "list"]).stdout.contains("a,b"))
    }

    @Test func pauseStopsNewStartsAtOnceAndResumeWakesWorkers() throws {
        let sandbox = try QueueSandbox(name: "queue-pause")
        defer { sandbox.cleanup() }
        let starts = sandbox.path("starts")
        // A stream of short jobs (under the 10 ms that keeps batches growing), so
        // workers always hold jobs claimed ahead when the pause comes.
        let stream = (0..<400).map { _ in #"{"command":"date +%s%N >> \#(starts); sleep 0.004","queue":"stream"}"# }
        try sandbox.ok(["worker", "start", "--count", "2"])
        try sandbox.ok(["enqueue", "-"], stdin: stream.joined(separator: "\n"))
        #expect(QueueSandbox.waitUntil(timeout: 20) { sandbox.lines(of: "starts").count >= 20 })
        try sandbox.ok(["queue", "pause", "stream"])
        let returned = Int64(Date().timeIntervalSince1970 * 1e9)
        try sandbox.enqueue(#"{"id":"other","command":"true"}"#)
        try sandbox.waitForState("other", "completed", timeout: 10)
        Thread.sleep(forTimeInterval: 1.2)
        let started = sandbox.lines(of: "starts").compactMap { Int64($0) }
        #expect(started.count < 400, "the stream finished before the pause; nothing was tested")
        let late = started.filter { $0 > returned }
        #expect(late.isEmpty, "\(late.count) jobs started after `queue pause` returned")
        let paused = try sandbox.json(["queue", "list"]).arrayValue?.first { $0["name"]?.stringValue == "stream" }
        #expect(paused?["paused"] == .bool(true) && paused?["running"]?.intValue == 0)
        #expect((paused?["jobs"]?["pending"]?.intValue ?? 0) == 400 - started.count)

        // Resuming rings the doorbell: idle workers start at once, not at their 1 s poll.
        try sandbox.ok(["queue", "set", "stream", "--concurrency", "1"])
        let before = started.count
        let resumedAt = Date()
        try sandbox.ok(["queue", "resume", "stream"])
        #expect(QueueSandbox.waitUntil(timeout: 5) { sandbox.lines(of: "starts").count > before })
        #expect(Date().timeIntervalSince(resumedAt) < 0.9, "a job started only \(Date().timeIntervalSince(resumedAt)) s after resume")
    }

    @Test func badQueueNamesAndLimitsAreRefusedWithoutChanges() throws {
        let sandbox = try QueueSandbox(name: "queue-input")
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"kept","command":"true"}"#)
        for (arguments, stdin) in [
            (["enqueue", #"{"command":"true","queue":"has space"}"#], nil),
            (["enqueue", #"{"command":"true","queue":""}"#], nil),
            (["enqueue", "-"], #"{"command":"true","queue":"ok"}"# + "\n" + #"{"command":"true","queue":"a,b"}"#),
            (["queue", "set", "q", "--concurrency", "-1"], nil),
            (["queue", "set", "a/b", "--concurrency", "1"], nil),
            (["queue", "pause"], nil),
            (["queue", "pause", "q", "--all"], nil),
            (["worker", "start", "--queue", "a,,b"], nil),
        ] as [([String], String?)] {
            let result = try sandbox.run(arguments, stdin: stdin)
            #expect(result.status == 64, "\(arguments): \(result)")
            #expect(result.stderr.hasPrefix("error:") && !result.stderr.dropFirst().contains("\nerror"), "\(arguments): \(result.stderr)")
        }
        #expect(try sandbox.counts().values.reduce(0, +) == 1)
        #expect(try sandbox.json(["queue", "list"]).arrayValue?.compactMap { $0["name"]?.stringValue } == ["default"])
        let tooLow = try sandbox.run(["queue", "set", "q", "--concurrency", "-1"])
        #expect(tooLow.stderr.hasPrefix("error: --concurrency must be from 0 to 1000000"), "\(tooLow)")
    }

    @Test func resumingOrUncappingAnUnknownQueueIsNotFound() throws {
        let sandbox = try QueueSandbox(name: "queue-typo")
        defer { sandbox.cleanup() }
        try sandbox.ok(["queue", "pause", "mail"])
        try sandbox.ok(["queue", "set", "reports", "--concurrency", "2"])
        for arguments in [["queue", "resume", "mial"], ["queue", "resume", "mail", "mial"], ["queue", "unset", "reprots"]] {
            let result = try sandbox.run(arguments)
            #expect(result.status == 3, "\(arguments): \(result)")
            #expect(result.stderr == "error: no queue named '\(arguments.last!)'\n", "\(arguments): \(result)")
        }
        // Nothing was created or changed: mail is still paused, reports still capped.
        let queues = try #require(try sandbox.json(["queue", "list"]).arrayValue)
        #expect(queues.compactMap { $0["name"]?.stringValue } == ["default", "mail", "reports"])
        #expect(queues.first { $0["name"]?.stringValue == "mail" }?["paused"] == .bool(true))
        #expect(queues.first { $0["name"]?.stringValue == "reports" }?["concurrency"]?.intValue == 2)
    }

    @Test func enqueueCommandTakesAQueue() throws {
        let sandbox = try QueueSandbox(name: "queue-flag")
        defer { sandbox.cleanup() }
        let id = try sandbox.ok(["enqueue", "--command", "true", "--queue", "mail"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try sandbox.json(["show", id])["queue"] == .string("mail"))
        let bad = try sandbox.run(["enqueue", "--command", "true", "--queue", "no good"])
        #expect(bad.status == 64, "\(bad)")
        let mixed = try sandbox.run(["enqueue", #"{"command":"true"}"#, "--queue", "mail"])
        #expect(mixed.status == 64 && mixed.stderr.contains("--queue"), "\(mixed)")
        #expect(try sandbox.counts().values.reduce(0, +) == 1, "refused jobs wrote nothing")
    }
}
