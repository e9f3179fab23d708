import Foundation
import PostgresNIO
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

/// The settle function (`queuectl_settle`, migration 4): what it does itself, what
/// it leaves to the settle transaction, and that the store's settle gives the
/// same results either way.
@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresSettleCallTests {
    /// The function's rows for a direct call: the claimed job ids, and the summary.
    struct Call {
        var claimed: [String]
        var settled: String
        var finished: [String]
        var configKeys: [String]
    }

    func call(_ f: LeaseFixture, results: [ClaimedJob], worker: String, limit: Int, queues: [String]? = nil) throws -> Call {
        let now = f.t0.adding(seconds: 2)
        let runs = results.map { FinishedRun(claimed: $0, result: RunResult(outcome: .succeeded, exitCode: 0)) }
        let endings = runs.map {
            RunEnding.alternatives(job: $0.claimed.job, result: $0.result, policy: QueueConfig().retryPolicy, now: now)
        }
        let rows = try f.session.single(PreparedStatement<SettleCallSQL>([
            try FinishInput.json(runs, endings: endings, now: now), now.milliseconds, worker, limit, queues, nil,
        ]))
        let summary = try #require(rows.last).makeRandomAccess()
        return Call(claimed: try rows.dropLast().map { try $0.makeRandomAccess()[0].decode(String.self) },
                    settled: try summary[21].decode(String.self), finished: try summary[22].decode([String].self),
                    configKeys: try summary[23].decode([String].self))
    }

    func claim(_ f: LeaseFixture, _ worker: String, limit: Int = 1, queues: [String]? = nil) throws -> [ClaimedJob] {
        let settlement = try f.store.settle([], givingBack: [], request: f.request(worker, limit: limit, queues: queues), jobsDone: nil)
        return [f.claimed(settlement.next)].compactMap { $0 } + settlement.ahead
    }

    @Test func oneCallRecordsTheResultsAndClaimsTheNextBatch() throws {
        let f = try LeaseFixture()
        for i in 1...5 { try f.insert("j\(i)") }
        try f.register("w1")
        try f.setConfig(.jobTimeout, 30)
        let first = try claim(f, "w1", limit: 2)
        let call = try call(f, results: first, worker: "w1", limit: 3)
        #expect(call.settled == "claimed")
        #expect(call.finished.sorted() == ["j1", "j2"])
        #expect(call.claimed == ["j3", "j4", "j5"])
        #expect(call.configKeys == ["job-timeout"])
        #expect(try f.state("j1").state == "completed")
        #expect(try f.runs("j2").map(\.outcome) == ["succeeded"])
        #expect(try f.state("j5") == ("processing", 1, "w1"))
        #expect(try f.runs("j5").map(\.outcome) == [nil], "the claim opened the run")
    }

    @Test func aJobWithDependentsLeavesTheWholeSettleToTheTransaction() throws {
        let f = try LeaseFixture()
        try f.insert("parent")
        try f.insert("child", state: .blocked, dependsOn: ["parent"])
        try f.register("w1")
        let claimed = try claim(f, "w1")
        #expect(claimed.map(\.job.id) == ["parent"])
        // Called directly, the function refuses and changes nothing.
        #expect {
            _ = try call(f, results: claimed, worker: "w1", limit: 1)
        } throws: { ($0 as? PostgresQueryError)?.sqlState == SettleCallSQL.leftToCaller }
        #expect(try f.state("parent").state == "processing")
        #expect(try f.runs("parent").map(\.outcome) == [nil])
        // The store's settle then records the result and releases the dependent.
        let result = RunResult(outcome: .succeeded, exitCode: 0)
        let settled = try f.store.settle([FinishedRun(claimed: claimed[0], result: result)], givingBack: [],
                                         request: f.request("w1"), jobsDone: nil)
        #expect(settled.finished.map { $0?.state } == [.completed])
        #expect(f.claimed(settled.next)?.job.id == "child")
        #expect(try f.state("parent").state == "completed")
    }

    @Test func severalQueuesLeaveTheClaimToTheTransaction() throws {
        let f = try LeaseFixture()
        try f.insert("a1", queue: "alpha")
        try f.insert("a2", queue: "alpha")
        try f.insert("b1", queue: "beta")
        try f.register("w1")
        let first = try claim(f, "w1")
        let call = try call(f, results: first, worker: "w1", limit: 1)
        #expect(call.settled == "claim")
        #expect(call.finished == first.map(\.job.id), "the results are recorded")
        #expect(call.claimed.isEmpty)
        #expect(try f.state(first[0].job.id).state == "completed")
        // Through the store, the queues take turns as the transaction decides.
        let a = try claim(f, "w1"), b = try claim(f, "w1")
        #expect(Set((first + a + b).map(\.job.queue)) == ["alpha", "beta"])
        #expect((first + a + b).count == 3)
    }

    @Test func aQueueLimitOrADueScheduleLeavesTheClaimToTheTransaction() throws {
        let f = try LeaseFixture()
        try f.insert("j1")
        try f.insert("j2")
        try f.register("w1")
        try f.setConcurrency("default", 5)
        let first = try claim(f, "w1")
        #expect(try call(f, results: first, worker: "w1", limit: 1).settled == "claim")
        try f.session.execute("UPDATE \(unescaped: f.s).queues SET concurrency = NULL")
        try f.session.execute("""
            INSERT INTO \(unescaped: f.s).schedules (name, every_seconds, job, next_at)
            VALUES ('tick', 60, '{"command":"true"}', \(f.t0.milliseconds))
            """)
        #expect(try call(f, results: [], worker: "w1", limit: 1).settled == "claim")
    }

    @Test func aStoppingWorkerRecordsItsResultsAndClaimsNothing() throws {
        let f = try LeaseFixture()
        try f.insert("j1")
        try f.insert("j2")
        try f.register("w1")
        let first = try claim(f, "w1")
        try f.store.requestStop(workerIDs: ["w1"])
        let call = try call(f, results: first, worker: "w1", limit: 1)
        #expect(call.settled == "stopping")
        #expect(call.finished == ["j1"])
        #expect(call.claimed.isEmpty)
        #expect(try f.state("j2").state == "pending")
        try f.session.execute("DELETE FROM \(unescaped: f.s).workers")
        #expect(try self.call(f, results: [], worker: "w1", limit: 1).settled == "released")
    }

    /// A failed run's ending depends on the retry policy, which the function does
    /// not know: the store's settle takes the transaction, and the retry follows
    /// the config.
    @Test func aFailedRunIsSettledByTheTransaction() throws {
        let f = try LeaseFixture()
        try f.insert("j1")
        try f.register("w1")
        try f.setConfig(.backoffBase, 7)
        let first = try claim(f, "w1")
        let result = RunResult(outcome: .failed, exitCode: 1)
        let settled = try f.store.settle([FinishedRun(claimed: first[0], result: result)], givingBack: [],
                                         request: f.request("w1"), jobsDone: nil)
        let job = try #require(settled.finished.first ?? nil)
        #expect(job.state == .failed)
        #expect(job.runAt == f.request("w1").now.adding(seconds: 7))
        #expect(try f.state("j1").state == "failed")
    }
}
