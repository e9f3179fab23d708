import Foundation
import Testing
@testable import QueueCore

/// The store's monitoring figures: run totals that outlive the history, the
/// histogram's buckets, and the latency of the oldest due job.
@Suite struct StoreMetricsTests {
    let f: StoreFixture

    init() throws { f = try StoreFixture() }

    /// Runs a job that takes `seconds` on the fixture's clock and ends with `result`.
    private func run(_ id: String, seconds: Double, _ result: RunResult = StoreFixture.success) throws {
        try f.enqueue(id)
        let claimed = try f.claim("w1")
        f.advance(seconds: seconds)
        _ = try f.store.finish(claimed, workerID: "w1", result: result, now: f.now)
    }

    @Test func finishedRunsAreCountedByOutcomeAndDurationBucket() throws {
        try f.worker("w1")
        try run("quick", seconds: 0.004)
        try run("tenth", seconds: 0.1)
        try run("slow", seconds: 7, StoreFixture.failure)
        try run("endless", seconds: 7200)
        try f.enqueue("running")
        _ = try f.claim("w1")

        let metrics = try f.store.metrics(now: f.now)
        #expect(metrics.runs == [.succeeded: 3, .failed: 1, .timedOut: 0, .interrupted: 0, .cancelled: 0])
        let histogram = metrics.runDuration
        #expect(histogram.count == 4, "the running job's run is not finished")
        #expect(histogram.sumMilliseconds == 4 + 100 + 7_000 + 7_200_000)
        let cumulative = Dictionary(uniqueKeysWithValues: histogram.buckets.map { ($0.upperBoundMilliseconds, $0.cumulativeCount) })
        #expect(cumulative[5] == 1)
        #expect(cumulative[50] == 1)
        #expect(cumulative[100] == 2, "a bound includes durations equal to it")
        #expect(cumulative[5_000] == 2)
        #expect(cumulative[10_000] == 3)
        #expect(cumulative[3_600_000] == 3, "two hours is only in +Inf (count)")
        // The buckets `queuectl metrics` exposes, the same on every store so one
        // dashboard reads them all.
        #expect(histogram.buckets.map(\.upperBoundMilliseconds) == [
            5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000,
        ])
    }

    /// A worker records a batch of results in one settle (one statement on
    /// PostgreSQL, whose totals are kept per statement): each run counts once,
    /// under its own outcome and duration.
    @Test func resultsRecordedTogetherAreEachCounted() throws {
        try f.worker("w1")
        for id in ["a", "b", "c"] { try f.enqueue(id) }
        let settled = try f.store.settle([], givingBack: [], request: ClaimRequest(workerID: "w1", limit: 3, now: f.now), jobsDone: nil)
        guard case let .claimed(first) = settled.next else { Issue.record("nothing claimed"); return }
        let batch = [first] + settled.ahead
        #expect(batch.count == 3)
        f.advance(seconds: 0.2)
        let results = zip(batch, [StoreFixture.success, StoreFixture.failure, StoreFixture.success]).map {
            FinishedRun(claimed: $0.0, result: $0.1)
        }
        _ = try f.store.settle(results, givingBack: [], request: ClaimRequest(workerID: "w1", limit: 0, now: f.now), jobsDone: nil)

        let metrics = try f.store.metrics(now: f.now)
        #expect(metrics.runs[.succeeded] == 2)
        #expect(metrics.runs[.failed] == 1)
        #expect(metrics.runDuration.count == 3)
        #expect(metrics.runDuration.sumMilliseconds == 3 * 200)
        let cumulative = Dictionary(uniqueKeysWithValues: metrics.runDuration.buckets.map { ($0.upperBoundMilliseconds, $0.cumulativeCount) })
        #expect(cumulative[100] == 0)
        #expect(cumulative[250] == 3)
    }

    @Test func totalsStayWhenRunsAreDeleted() throws {
        try f.worker("w1")
        try run("a", seconds: 1)
        #expect(try f.store.deleteFinal(state: .completed, updatedBefore: nil, dryRun: false) == 1)
        #expect(try f.store.runs(jobID: "a").isEmpty)
        #expect(try f.store.metrics(now: f.now).runs[.succeeded] == 1, "a counter never goes down")
    }

    @Test func latencyIsTheOldestDueJobAcrossPriorities() throws {
        #expect(try f.store.metrics(now: f.now).queueLatencyMilliseconds == 0)
        try f.enqueue("low", priority: -3)
        f.advance(seconds: 2)
        try f.enqueue("high", priority: 9)
        try f.enqueue("future", priority: -9, delay: 60)
        #expect(try f.store.metrics(now: f.now).queueLatencyMilliseconds == 2_000)
        f.advance(seconds: 100)
        #expect(try f.store.metrics(now: f.now).queueLatencyMilliseconds == 102_000)
    }

    @Test func aDueJobNoWorkerHasPromotedCountsAsWaiting() throws {
        try f.enqueue("later", delay: 10)
        #expect(try f.store.metrics(now: f.now).queueLatencyMilliseconds == 0)
        f.advance(seconds: 25)
        #expect(try f.store.metrics(now: f.now).queueLatencyMilliseconds == 15_000)
    }
}
