import Foundation
import PostgresNIO
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresJobStoreLeaseTests {
    @Test func claimsByPriorityThenRunAtThenFIFOAndLeavesFutureJobs() throws {
        let f = try LeaseFixture()
        try f.insert("late", runAt: f.t0.adding(seconds: -1))
        try f.insert("first-in")
        try f.insert("urgent", priority: 5)
        try f.insert("second-in")
        try f.insert("future", runAt: f.t0.adding(seconds: 3600))
        try f.register("w1", host: "host-a")
        var order: [String] = []
        while let job = f.claimed(try f.store.claim(f.request("w1"))) {
            order.append(job.job.id)
            #expect(job.job.state == .processing && job.job.attempts == 1 && job.job.workerID == "w1")
        }
        #expect(order == ["urgent", "late", "first-in", "second-in"])
        #expect(try f.state("future").state == "scheduled")
        #expect(try f.runs("urgent").map(\.host) == ["host-a"])
        // Its time come, the future job is promoted and claimed.
        let later = ClaimRequest(workerID: "w1", now: f.t0.adding(seconds: 3601))
        #expect(f.claimed(try f.store.claim(later))?.job.id == "future")
    }

    @Test func claimAheadReturnsJobsInOrderWithRunsInClaimOrder() throws {
        let f = try LeaseFixture()
        for i in 1...5 { try f.insert("j\(i)") }
        try f.register("w1")
        let settlement = try f.store.settle([], givingBack: [], request: f.request("w1", limit: 3), jobsDone: nil)
        let ids = ([f.claimed(settlement.next)].compactMap { $0 } + settlement.ahead).map(\.job.id)
        #expect(ids == ["j1", "j2", "j3"])
        let runIDs = ([f.claimed(settlement.next)].compactMap { $0 } + settlement.ahead).map(\.runID)
        #expect(runIDs == runIDs.sorted())
    }

    @Test func releasedWorkersResultRecordsNothing() throws {
        let f = try LeaseFixture()
        try f.insert("j")
        let worker = try f.register("w1")
        let claimed = try #require(f.claimed(try f.store.claim(f.request("w1"))))
        let released = try #require(try f.store.releaseWorker(worker, loss: .processExited, startedThrough: nil, now: f.t0.adding(seconds: 2)))
        #expect(released.map(\.jobID) == ["j"])
        #expect(released.first?.host == "host-a")
        #expect(released.first?.newState == .failed)
        #expect(try f.state("j").state == "failed")
        let result = RunResult(outcome: .succeeded, exitCode: 0)
        #expect(try f.store.finish(claimed, workerID: "w1", result: result, now: f.t0.adding(seconds: 3)) == nil)
        let settled = try f.store.settle([FinishedRun(claimed: claimed, result: result)], givingBack: [], request: f.request("w1"),
                                         jobsDone: 1)
        #expect(settled.finished == [nil])
        #expect(settled.next == .workerReleased)
        #expect(try f.state("j").state == "failed")
        #expect(try f.runs("j").map(\.outcome) == ["interrupted"])
        #expect(try f.store.heartbeat(workerID: "w1", jobsDone: 1) == nil)
        // Releasing again finds nothing to release.
        #expect(try f.store.releaseWorker(worker, loss: .processExited, startedThrough: nil, now: f.t0) == nil)
    }

    @Test func finishRecordsTheRunAndReleasesDependents() throws {
        let f = try LeaseFixture()
        try f.insert("a")
        try f.insert("b")
        try f.insert("child", state: .blocked, dependsOn: ["a", "b"])
        try f.register("w1")
        let a = try #require(f.claimed(try f.store.claim(f.request("w1"))))
        let b = try #require(f.claimed(try f.store.claim(f.request("w1"))))
        let done = RunResult(outcome: .succeeded, exitCode: 0)
        #expect(try f.store.finish(a, workerID: "w1", result: done, now: f.t0.adding(seconds: 2))?.state == .completed)
        #expect(try f.state("child").state == "blocked")
        #expect(try f.store.finish(b, workerID: "w1", result: done, now: f.t0.adding(seconds: 2))?.state == .completed)
        #expect(try f.state("child").state == "pending")
        #expect(try f.runs("a").map(\.outcome) == ["succeeded"])
    }

    @Test func failedRunOfLastAttemptIsDeadAndCancelsDependents() throws {
        let f = try LeaseFixture()
        try f.insert("a", maxRetries: 0)
        try f.insert("child", state: .blocked, dependsOn: ["a"])
        try f.register("w1")
        let a = try #require(f.claimed(try f.store.claim(f.request("w1"))))
        let job = try f.store.finish(a, workerID: "w1", result: RunResult(outcome: .failed, exitCode: 3, error: "exit 3"),
                                     now: f.t0.adding(seconds: 2))
        #expect(job?.state == .dead)
        #expect(try f.state("child").state == "cancelled")
        let kinds = try f.session.query("SELECT kind FROM \(unescaped: f.s).events ORDER BY id").map { try $0.decode(String.self) }
        #expect(kinds == ["dead", "cancelled"])
    }

    @Test func cancelRequestReachesTheHeartbeatAndEndsTheRunCancelled() throws {
        let f = try LeaseFixture()
        try f.insert("j")
        try f.register("w1")
        let claimed = try #require(f.claimed(try f.store.claim(f.request("w1"))))
        #expect(try f.store.heartbeat(workerID: "w1", jobsDone: 0)?.cancelled == [])
        try f.session.execute("UPDATE \(unescaped: f.s).jobs SET cancel_requested = TRUE WHERE id = 'j'")
        #expect(try f.store.heartbeat(workerID: "w1", jobsDone: 0)?.cancelled == ["j"])
        let job = try f.store.finish(claimed, workerID: "w1", result: RunResult(outcome: .cancelled, exitCode: nil, signal: 15),
                                     now: f.t0.adding(seconds: 2))
        #expect(job?.state == .cancelled)
        #expect(try f.state("j").state == "cancelled")
    }

    @Test func twoHostsClaimingAtOnceNeverGetTheSameJob() throws {
        let f = try LeaseFixture()
        let total = 300
        try f.session.execute("""
            INSERT INTO \(unescaped: f.s).jobs (id, command, state, max_retries, run_at, created_at, updated_at)
            SELECT 'j' || n, 'true', 'pending', 3, \(f.t0.milliseconds), \(f.t0.milliseconds), \(f.t0.milliseconds)
            FROM generate_series(1, \(total)) AS n
            """)
        let stores = [f.store, try f.otherHost(), try f.otherHost(), try f.otherHost()]
        for (i, store) in stores.enumerated() { try f.register("w\(i)", host: "host-\(i)", in: store) }
        let claims = try concurrently(stores.count) { i -> [String] in
            var ids: [String] = []
            while true {
                let settlement = try stores[i].settle([], givingBack: [], request: f.request("w\(i)", limit: 1 + i % 2 * 3), jobsDone: nil)
                guard case let .claimed(first) = settlement.next else { return ids }
                ids += [first.job.id] + settlement.ahead.map(\.job.id)
            }
        }
        let all = claims.flatMap { $0 }
        #expect(all.count == total)
        #expect(Set(all).count == total)
        #expect(claims.allSatisfy { !$0.isEmpty })
        let runs = try f.session.query("SELECT count(*), count(DISTINCT job_id) FROM \(unescaped: f.s).runs").first!
            .decode((Int, Int).self)
        #expect(runs == (total, total))
    }

    @Test func concurrencyLimitIsExactUnderConcurrentClaimers() throws {
        let f = try LeaseFixture()
        for i in 1...100 { try f.insert("l\(i)", queue: "limited") }
        try f.setConcurrency("limited", 3)
        let stores = [f.store, try f.otherHost(), try f.otherHost(), try f.otherHost()]
        for (i, store) in stores.enumerated() { try f.register("w\(i)", in: store) }
        // Claimers race, finishing each job they get; the processing count is read
        // after every claim and must never pass the limit.
        let peaks = try concurrently(stores.count) { i -> Int in
            var peak = 0
            for _ in 0..<10 {
                let outcome = try stores[i].settle([], givingBack: [], request: f.request("w\(i)", limit: 2), jobsDone: nil)
                let running = try stores[i].session.query("""
                    SELECT count(*) FROM \(unescaped: f.s).jobs WHERE state = 'processing' AND queue = 'limited'
                    """).first!.decode(Int.self)
                peak = max(peak, running)
                if case let .claimed(job) = outcome.next {
                    let results = ([job] + outcome.ahead).map { FinishedRun(claimed: $0, result: RunResult(outcome: .succeeded, exitCode: 0)) }
                    _ = try stores[i].settle(results, givingBack: [], request: f.request("w\(i)", limit: 0), jobsDone: nil)
                }
            }
            return peak
        }
        #expect(peaks.max()! <= 3)
        // Without finishing, claimers together hold exactly the limit.
        let held = try concurrently(stores.count) { i -> Int in
            var count = 0
            for _ in 0..<5 {
                let outcome = try stores[i].settle([], givingBack: [], request: f.request("w\(i)", limit: 2), jobsDone: nil)
                if outcome.next.isClaimed { count += 1 + outcome.ahead.count }
            }
            return count
        }
        #expect(held.reduce(0, +) == 3)
        #expect(try f.store.session.query("""
            SELECT count(*) FROM \(unescaped: f.s).jobs WHERE state = 'processing'
            """).first!.decode(Int.self) == 3)
    }

    @Test func givenBackJobsAreClaimableAgainWithoutCountingTheAttempt() throws {
        let f = try LeaseFixture()
        for i in 1...3 { try f.insert("j\(i)") }
        try f.register("w1")
        let settlement = try f.store.settle([], givingBack: [], request: f.request("w1", limit: 3), jobsDone: nil)
        let first = try #require(f.claimed(settlement.next))
        #expect(settlement.ahead.count == 2)
        let next = try f.store.settle([FinishedRun(claimed: first, result: RunResult(outcome: .succeeded, exitCode: 0))],
                                      givingBack: settlement.ahead, request: f.request("w1", limit: 0), jobsDone: 1)
        #expect(next.finished.map { $0?.state } == [.completed])
        for id in ["j2", "j3"] {
            #expect(try f.state(id) == ("pending", 0, nil))
            #expect(try f.runs(id).isEmpty)
        }
        #expect(try f.session.query("SELECT jobs_done FROM \(unescaped: f.s).workers WHERE id = 'w1'").first!.decode(Int.self) == 1)
        #expect(f.claimed(try f.store.claim(f.request("w1")))?.job.attempts == 1)
    }

    @Test func leaseExpiresOnTheDatabaseClock() throws {
        let f = try LeaseFixture()
        try f.insert("j")
        try f.register("w1")
        _ = try f.store.claim(f.request("w1"))
        // A worker whose clock is far off: its heartbeats still land on the server's time.
        let beat = try #require(try f.store.heartbeat(workerID: "w1", jobsDone: 0))
        let serverNow = try f.session.query("SELECT \(unescaped: f.s).queuectl_now_ms()").first!.decode(Int64.self)
        #expect(abs(beat.at.milliseconds - serverNow) < 5_000)
        // Whatever `now` the caller passes, expiry is judged on the server's clock.
        for callerNow in [Timestamp(milliseconds: 0), Timestamp(milliseconds: 4_000_000_000_000)] {
            #expect(try f.store.expiredWorkers(leaseTimeout: 3, now: callerNow).isEmpty)
        }
        try f.session.execute("UPDATE \(unescaped: f.s).workers SET heartbeat_at = heartbeat_at - 5000 WHERE id = 'w1'")
        let expired = try f.store.expiredWorkers(leaseTimeout: 3, now: Timestamp(milliseconds: 0))
        #expect(expired.map(\.worker.id) == ["w1"])
        #expect(expired.first.map { $0.silentFor >= 5 && $0.silentFor < 10 } == true)
        #expect(expired.first?.worker.jobID == "j")
        // A heartbeat since the worker was read cancels its release.
        let stale = try #require(expired.first?.worker)
        _ = try f.store.heartbeat(workerID: "w1", jobsDone: 0)
        #expect(try f.store.releaseWorker(stale, loss: .leaseExpired(seconds: 5), startedThrough: nil, now: f.t0) == nil)
        #expect(try f.state("j").state == "processing")
        // Without one, the release goes through.
        try f.session.execute("UPDATE \(unescaped: f.s).workers SET heartbeat_at = heartbeat_at - 5000 WHERE id = 'w1'")
        let lost = try #require(try f.store.expiredWorkers(leaseTimeout: 3, now: f.t0).first?.worker)
        let released = try f.store.releaseWorker(lost, loss: .leaseExpired(seconds: 5), startedThrough: nil, now: f.t0)
        #expect(released?.map(\.jobID) == ["j"])
        #expect(try f.state("j").state == "failed")
    }

    /// The sweep's one-statement view agrees with the separate reads: the same
    /// workers, the same expired ones (the lease from the config), and orphans.
    @Test func recoveryViewReadsWhatTheSeparateReadsRead() throws {
        let f = try LeaseFixture()
        var view = try f.store.recoveryView(now: f.t0, judgingLeases: true)
        #expect(view.workers.isEmpty && view.expired.isEmpty && !view.orphansMayExist, "an empty queue: one row of NULLs")
        try f.insert("j")
        try f.register("w1")
        try f.register("w2")
        _ = try f.store.claim(f.request("w1"))
        try f.setConfig(.leaseTimeout, 3)
        try f.session.execute("UPDATE \(unescaped: f.s).workers SET heartbeat_at = queuectl_now_ms() - 5000 WHERE id = 'w2'")
        view = try f.store.recoveryView(now: Timestamp(milliseconds: 0), judgingLeases: true)
        #expect(view.workers.map(\.id) == (try f.store.workers()).map(\.id))
        #expect(view.workers.first { $0.id == "w1" }?.jobID == "j")
        #expect(Array(view.expired.keys) == ["w2"])
        #expect(view.expired["w2"].map { $0 >= 5 && $0 < 10 } == true)
        #expect(!view.orphansMayExist)
        #expect(try f.store.recoveryView(now: f.t0, judgingLeases: false).expired.isEmpty)
        try f.setConfig(.leaseTimeout, 60)
        #expect(try f.store.recoveryView(now: f.t0, judgingLeases: true).expired.isEmpty, "the lease is the config's")
        try f.session.execute("DELETE FROM \(unescaped: f.s).workers WHERE id = 'w1'")
        #expect(try f.store.recoveryView(now: f.t0, judgingLeases: true).orphansMayExist, "j is held by no registered worker")
    }

    @Test func releaseGivesBackRunsAfterStartedThrough() throws {
        let f = try LeaseFixture()
        for i in 1...3 { try f.insert("j\(i)") }
        let worker = try f.register("w1", host: "host-b")
        let settlement = try f.store.settle([], givingBack: [], request: f.request("w1", limit: 3), jobsDone: nil)
        let first = try #require(f.claimed(settlement.next))
        let released = try #require(try f.store.releaseWorker(worker, loss: .processExited, startedThrough: first.runID, now: f.t0))
        #expect(released.map(\.jobID) == ["j1", "j2", "j3"])
        #expect(released.map(\.started) == [true, false, false])
        #expect(released.map(\.host) == ["host-b", "host-b", "host-b"])
        #expect(try f.state("j2") == ("pending", 0, nil))
        #expect(try f.state("j1").state == "failed")
    }

    @Test func orphanedJobsAreReleased() throws {
        let f = try LeaseFixture()
        try f.insert("j")
        try f.register("w1")
        _ = try f.store.claim(f.request("w1"))
        #expect(try f.store.releaseOrphanedJobs(now: f.t0).isEmpty)
        try f.store.deregisterWorker(id: "w1")
        let released = try f.store.releaseOrphanedJobs(now: f.t0)
        #expect(released.map(\.jobID) == ["j"])
        #expect(released.first?.host == "host-a")
    }

    @Test func stopsAndStopGeneration() throws {
        let f = try LeaseFixture()
        let generation = try f.store.stopGeneration()
        try f.register("w1")
        let asked = try f.store.requestStopOfAllWorkers()
        #expect(asked.map(\.id) == ["w1"])
        #expect(asked.first?.state == .stopping)
        #expect(try f.store.stopGeneration() == generation + 1)
        try f.insert("j")
        #expect(try f.store.claim(f.request("w1")) == .stopRequested)
        let late = WorkerRecord(id: "w2", pid: 1, pidStartTicks: 1, hostname: "h", startedAt: f.t0, heartbeatAt: f.t0)
        #expect(try f.store.registerWorker(late, unlessStoppedSince: generation) == false)
        #expect(try f.store.registerWorker(late, unlessStoppedSince: generation + 1) == true)
        #expect(try f.store.workers().map(\.id) == ["w1", "w2"])
        try f.store.deregisterWorker(id: "w1")
        #expect(try f.store.workers().map(\.id) == ["w2"])
    }

    @Test func outputIsAppendedFencedCappedAndRead() throws {
        let f = try LeaseFixture()
        try f.setConfig(.outputLimit, 1024)
        try f.insert("j")
        try f.register("w1")
        let claimed = try #require(f.claimed(try f.store.claim(f.request("w1"))))
        #expect(try f.store.runOutput(jobID: "j", runID: claimed.runID, from: 0, limit: 100).exists == false)
        let first = [UInt8](repeating: UInt8(ascii: "a"), count: 600)
        let second = [UInt8](repeating: UInt8(ascii: "b"), count: 600)
        let third = [UInt8](repeating: UInt8(ascii: "c"), count: 600)
        try f.store.appendOutput(runID: claimed.runID, workerID: "w1", bytes: first, at: 0)
        try f.store.appendOutput(runID: claimed.runID, workerID: "w1", bytes: first, at: 0)   // sent again: kept once
        try f.store.appendOutput(runID: claimed.runID, workerID: "w1", bytes: second, at: 600)
        try f.store.appendOutput(runID: claimed.runID, workerID: "w1", bytes: third, at: 1200)
        try f.store.appendOutput(runID: claimed.runID, workerID: "someone-else", bytes: second, at: 1800)
        // Kept: output-limit plus room for the runner's truncation note.
        let kept = 1024 + Int(PostgresJobStore.truncationNoteBytes)
        let all = try f.store.runOutput(jobID: "j", runID: claimed.runID, from: 0, limit: 10_000)
        #expect(all.exists && all.total == 1800 && all.truncated)
        #expect(all.bytes == Array((first + second + third).prefix(kept)))
        let middle = try f.store.runOutput(jobID: "j", runID: claimed.runID, from: 590, limit: 20)
        #expect(middle.bytes == Array(repeating: UInt8(ascii: "a"), count: 10) + Array(repeating: UInt8(ascii: "b"), count: 10))
        // After recovery ended the run, the worker's late output is dropped.
        try f.store.appendOutput(runID: claimed.runID, workerID: "w1", bytes: [1, 2, 3], at: 1800)
        _ = try f.store.releaseWorker(try f.store.workers()[0], loss: .processExited, startedThrough: nil, now: f.t0)
        try f.store.appendOutput(runID: claimed.runID, workerID: "w1", bytes: [4, 5, 6], at: 1803)
        let after = try f.store.runOutput(jobID: "j", runID: claimed.runID, from: 0, limit: 10_000)
        #expect(after.total == 1803)
        try f.session.execute("UPDATE \(unescaped: f.s).runs SET output_lost = 'disk full' WHERE id = \(claimed.runID)")
        #expect(try f.store.runOutput(jobID: "j", runID: claimed.runID, from: 0, limit: 1).lost == "disk full")
    }

    @Test func schedulesFireOnceInTheClaimTransaction() throws {
        let f = try LeaseFixture()
        try f.session.execute("""
            INSERT INTO \(unescaped: f.s).schedules (name, every_seconds, job, next_at)
            VALUES ('tick', 60, '{"command": "date"}', \(f.t0.milliseconds))
            """)
        let stores = [f.store, try f.otherHost()]
        for (i, store) in stores.enumerated() { try f.register("w\(i)", in: store) }
        let got = try concurrently(2) { i in f.claimed(try stores[i].claim(f.request("w\(i)")))?.job.id }
        #expect(got.compactMap { $0 } == ["tick@" + f.t0.iso8601])
        let next = try f.session.query("SELECT next_at FROM \(unescaped: f.s).schedules").first!.decode(Int64.self)
        #expect(next > f.t0.adding(seconds: 1).milliseconds)
    }
}

@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresDroppedQueueTests {
    /// A schema dropped under its workers is a lost queue (a worker stops, as for a
    /// deleted SQLite file); a failing statement alone is not.
    @Test func droppedSchemaIsStorageLostAndOtherErrorsAreNot() throws {
        let f = try LeaseFixture()
        try f.register("w1")
        #expect(f.store.storageLost() == nil)
        #expect(throws: (any Error).self) { try f.store.session.execute("SELECT 1/0") }
        #expect(f.store.storageLost() == nil)
        let admin = PostgresSession(address: f.store.address)
        defer { admin.close() }
        try admin.execute("DROP SCHEMA \(unescaped: f.store.address.quotedSchema) CASCADE")
        #expect(throws: (any Error).self) { _ = try f.store.heartbeat(workerID: "w1", jobsDone: 0) }
        let reason = try #require(f.store.storageLost())
        #expect(reason.contains("was removed") && reason.contains(f.store.address.schema))
    }
}
