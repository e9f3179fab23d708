import Foundation
import QueueCore
import Testing
import TestSupport

/// Failed runs retry after base^n seconds (measured in the history), the cap holds,
/// and a run over its timeout is killed with its whole process group.
@Suite struct RetryAndTimeoutTests {
    /// Seconds between a run's end and the next run's start, for each retry.
    func gaps(_ history: [JSONValue]) throws -> [Double] {
        try zip(history, history.dropFirst()).map { previous, next in
            let finished = try #require(previous.time("finished_at"))
            let started = try #require(next.time("started_at"))
            return started.seconds(since: finished)
        }
    }

    @Test func failedJobRetriesWithExponentialBackoffThenDies() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("backoff-base", "1.5"), ("max-retries", "2")])
        try sandbox.enqueue(#"{"id":"flaky","command":"echo try $QUEUECTL_ATTEMPT; exit 3"}"#)
        try sandbox.startWorkers(1)
        let job = try sandbox.waitForState("flaky", "dead", timeout: 30)
        #expect(job["attempts"]?.intValue == 3)
        #expect(job["max_retries"]?.intValue == 2)
        #expect(job["exit_code"]?.intValue == 3)
        #expect(job["last_error"]?.stringValue?.contains("3") == true)
        let history = try #require(job["history"]?.arrayValue)
        #expect(history.map { $0["outcome"]?.stringValue } == ["failed", "failed", "failed"])
        #expect(history.map { $0["attempt"]?.intValue } == [1, 2, 3])
        #expect(history.map { $0["exit_code"]?.intValue } == [3, 3, 3])
        let measured = try gaps(history)
        let expected = [1.5, 2.25]
        #expect(measured.count == 2)
        for (gap, want) in zip(measured, expected) {
            #expect(gap >= want - 0.001, "retry came after \(gap) s, before the \(want) s backoff")
            #expect(gap < want + 1.0, "retry came after \(gap) s, long after the \(want) s backoff")
        }
        #expect(try sandbox.run(["logs", "flaky", "--attempt", "2"]).stdout == "try 2\n")
    }

    @Test func backoffMaxCapsTheWait() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("backoff-base", "100"), ("backoff-max", "0.5")])
        try sandbox.enqueue(#"{"id":"capped","command":"false","max_retries":2}"#)
        try sandbox.startWorkers(1)
        let job = try sandbox.waitForState("capped", "dead", timeout: 20)
        let measured = try gaps(try #require(job["history"]?.arrayValue))
        #expect(measured.count == 2)
        for gap in measured {
            #expect(gap >= 0.499 && gap < 1.5, "gap \(gap) s with backoff-max 0.5")
        }
    }

    @Test func runOverItsTimeoutIsTimedOutAndItsProcessGroupKilled() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("kill-grace", "0.5"), ("backoff-base", "1")])
        let pidFile = sandbox.path("child.pid")
        try sandbox.enqueue(#"{"id":"slow","command":"sleep 30 & echo $! > \#(pidFile); wait","timeout":1,"max_retries":1}"#)
        try sandbox.startWorkers(1)
        let job = try sandbox.waitForState("slow", "dead", timeout: 20)
        let history = try #require(job["history"]?.arrayValue)
        #expect(history.map { $0["outcome"]?.stringValue } == ["timed_out", "timed_out"])
        for run in history {
            let duration = run["duration"]?.doubleValue ?? 0
            #expect(duration >= 1 && duration < 4, "a 1 s timeout ended the run after \(duration) s")
        }
        #expect(job["attempts"]?.intValue == 2)
        // The background `sleep 30` of the last run died with its group.
        let childPID = try #require(Int32(sandbox.lines(of: "child.pid").last ?? ""))
        #expect(QueueSandbox.waitUntil(timeout: 3) { !processIsRunning(childPID) })
    }

    @Test func configJobTimeoutAppliesToJobsWithoutTheirOwn() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("job-timeout", "1"), ("kill-grace", "0.2")])
        try sandbox.enqueue(#"{"id":"default-timeout","command":"sleep 30","max_retries":0}"#)
        try sandbox.startWorkers(1)
        let job = try sandbox.waitForState("default-timeout", "dead", timeout: 15)
        #expect(job["history"]?.arrayValue?.first?["outcome"]?.stringValue == "timed_out")
    }
}
