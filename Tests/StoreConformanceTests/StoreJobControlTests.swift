import Foundation
import Testing
@testable import QueueCore

/// Job control in the store: cancels racing a run's end and recovery, dependency
/// chains and fan-outs at size, unique keys, retry rules by exit code.
@Suite struct StoreJobControlTests {
    let f: StoreFixture
    init() throws {
        f = try StoreFixture()
        try f.worker("w1")
    }

    /// A cancel and the run's result committed from two threads at once: whichever
    /// commits first decides, and the job ends in exactly one final state whose
    /// history agrees with it.
    @Test func cancelRacingAFinishingRunEndsInOneFinalState() throws {
        let other = try f.connection(.command(creating: false))
        var outcomes: [JobState: Int] = [:]
        for attempt in 0..<150 {
            let succeeded = attempt % 2 == 0
            try f.enqueue("race\(attempt)", maxRetries: 0)
            let claimed = try f.claim("w1")
            let result = succeeded ? RunResult(outcome: .succeeded, exitCode: 0) : RunResult(outcome: .failed, exitCode: 1, error: "exit code 1")
            let cancelResult = LockedBox<Result<CancelReport, Error>?>(nil)
            let now = f.now
            let thread = Thread {
                cancelResult.value = Result { try other.cancel(ids: ["race\(attempt)"], now: now) }
            }
            thread.start()
            let finished = try f.store.finish(claimed, workerID: "w1", result: result, now: now)
            while cancelResult.value == nil { usleep(100) }
            let job = try f.store.job(id: "race\(attempt)")
            let runs = try f.store.runs(jobID: job.id)
            #expect(runs.count == 1 && runs[0].finishedAt != nil)
            #expect(finished?.state == job.state)
            switch cancelResult.value! {
            case .success:
                // The cancel came first (the job was processing): a success still
                // completes; a failure ends cancelled, never dead.
                #expect(job.state == (succeeded ? .completed : .cancelled), "attempt \(attempt): \(job.state)")
            case let .failure(error):
                // The result came first: the job was final and the cancel changed nothing.
                #expect((error as? QueueError)?.kind == .conflict)
                #expect(job.state == (succeeded ? .completed : .dead), "attempt \(attempt): \(job.state)")
            }
            outcomes[job.state, default: 0] += 1
        }
        let counts = try f.store.counts()
        #expect(counts[.processing] == 0 && counts.total == 150)
        #expect(counts[.completed] + counts[.dead] + counts[.cancelled] == 150)
        #expect(outcomes.values.reduce(0, +) == 150)
    }

    @Test func cancelRequestedBeforeRecoveryReleasesTheWorkerEndsCancelled() throws {
        try f.enqueue("a", maxRetries: 3)
        _ = try f.claim("w1")
        let report = try f.store.cancel(ids: ["a"], now: f.now)
        #expect(report.stopping == ["a"] && report.cancelled.isEmpty)
        let worker = try #require(try f.workerRow("w1"))
        _ = try f.release(worker, .processExited)
        let job = try f.store.job(id: "a")
        #expect(job.state == .cancelled && job.lastError == Cancellation.requestedReason)
        #expect(try f.store.runs(jobID: "a").map(\.outcome) == [.interrupted])
    }

    @Test func aJobClaimedAheadAndCancelledIsNotGivenBackToWaiting() throws {
        try f.enqueue("a")
        let claimed = try f.claim("w1")
        _ = try f.store.cancel(ids: ["a"], now: f.now)
        _ = try f.settle(givingBack: [claimed], limit: 0)
        #expect(try f.store.job(id: "a").state == .cancelled)
        #expect(try f.store.counts()[.pending] == 0)
    }

    @Test func aChainOfAThousandIsReleasedLinkByLinkAndCancelledInOneStatement() throws {
        var specs = [try JobSpec(id: "c0", command: "true")]
        for i in 1..<1000 {
            var spec = try JobSpec(id: "c\(i)", command: "true")
            spec.dependsOn = ["c\(i - 1)"]
            specs.append(spec)
        }
        _ = try f.store.enqueue(specs, now: f.now)
        #expect(try f.store.counts()[.blocked] == 999)
        // The claim sees only the head.
        let head = try f.claim("w1")
        #expect(head.job.id == "c0")
        #expect(try f.store.claim(workerID: "w1", now: f.now) == .noJob)
        _ = try f.store.finish(head, workerID: "w1", result: RunResult(outcome: .succeeded, exitCode: 0), now: f.now)
        // Completing c0 releases c1 only, at once.
        #expect(try f.store.job(id: "c1").state == .pending)
        #expect(try f.store.job(id: "c2").state == .blocked)
        // Cancelling c1 cancels the 998 behind it, each naming its own dependency.
        let report = try f.store.cancel(ids: ["c1"], now: f.now)
        #expect(report.cancelled == ["c1"] && report.dependents.count == 998)
        #expect(try f.store.job(id: "c999").lastError == "dependency c998 ended cancelled")
        #expect(try f.store.job(id: "c2").lastError == "dependency c1 ended cancelled")
        let counts = try f.store.counts()
        #expect(counts[.cancelled] == 999 && counts[.blocked] == 0 && counts[.completed] == 1)
    }

    @Test func tenThousandDependentsOfOneJobAreReleasedTogether() throws {
        var specs = [try JobSpec(id: "root", command: "true")]
        for i in 0..<10_000 {
            var spec = try JobSpec(id: "d\(i)", command: "true")
            spec.dependsOn = ["root"]
            specs.append(spec)
        }
        _ = try f.store.enqueue(specs, now: f.now)
        #expect(try f.store.dependentCount(of: "root") == 10_000)
        let root = try f.claim("w1")
        _ = try f.store.finish(root, workerID: "w1", result: RunResult(outcome: .succeeded, exitCode: 0), now: f.now)
        let counts = try f.store.counts()
        #expect(counts[.pending] == 10_000 && counts[.blocked] == 0)
    }

    @Test func aDeadDependencyCancelsItsDependentsWithAReason() throws {
        var b = try JobSpec(id: "b", command: "true")
        b.dependsOn = ["a"]
        var c = try JobSpec(id: "c", command: "true")
        c.dependsOn = ["a", "b"]
        _ = try f.store.enqueue([try JobSpec(id: "a", command: "false", maxRetries: 0), b, c], now: f.now)
        let a = try f.claim("w1")
        _ = try f.store.finish(a, workerID: "w1", result: RunResult(outcome: .failed, exitCode: 1, error: "exit code 1"), now: f.now)
        #expect(try f.store.job(id: "a").state == .dead)
        #expect(try f.store.job(id: "b").state == .cancelled)
        #expect(try f.store.job(id: "b").lastError == "dependency a ended dead")
        #expect(try f.store.job(id: "c").state == .cancelled)
    }

    @Test func dependenciesMustExistOrComeEarlierInTheBatch() throws {
        var late = try JobSpec(id: "late", command: "true")
        late.dependsOn = ["later"]
        let error = #expect(throws: QueueError.self) {
            _ = try f.store.enqueue([late, try JobSpec(id: "later", command: "true")], now: f.now)
        }
        #expect(error?.kind == .invalidInput && error?.message.contains("later") == true)
        #expect(try f.store.counts().total == 0)
    }

    @Test func uniqueKeyHoldsWhileTheHolderIsNotFinal() throws {
        var spec = try JobSpec(command: "true")
        spec.uniqueKey = "k"
        let first = try f.store.enqueueReportingDuplicates([spec], now: f.now)[0]
        let second = try f.store.enqueueReportingDuplicates([spec], now: f.now)[0]
        #expect(!first.duplicate && second.duplicate && second.job.id == first.job.id)
        #expect(try f.store.counts().total == 1)
        let claimed = try f.claim("w1")
        _ = try f.store.finish(claimed, workerID: "w1", result: RunResult(outcome: .succeeded, exitCode: 0), now: f.now)
        let third = try f.store.enqueueReportingDuplicates([spec], now: f.now)[0]
        #expect(!third.duplicate && third.job.id != first.job.id)
    }

    @Test func exitCodesDecideWhetherAFailureIsRetried() throws {
        var spec = try JobSpec(id: "j", command: "true", maxRetries: 5)
        spec.options.noRetryExit = [2]
        spec.options.retryOnExit = [75, 1]
        _ = try f.store.enqueue([spec], now: f.now)
        var claimed = try f.claim("w1")
        var job = try #require(try f.store.finish(claimed, workerID: "w1", result: RunResult(outcome: .failed, exitCode: 75), now: f.now))
        #expect(job.state == .failed)
        f.advance(seconds: 100)
        claimed = try f.claim("w1")
        job = try #require(try f.store.finish(claimed, workerID: "w1", result: RunResult(outcome: .failed, exitCode: 2), now: f.now))
        #expect(job.state == .dead)
    }

    @Test func aJobsOwnBackoffOverridesTheConfig() throws {
        var spec = try JobSpec(id: "j", command: "false", maxRetries: 2)
        spec.options.backoffBase = 7
        _ = try f.store.enqueue([spec], now: f.now)
        let claimed = try f.claim("w1")
        let job = try #require(try f.store.finish(claimed, workerID: "w1", result: RunResult(outcome: .failed, exitCode: 1), now: f.now))
        #expect(job.runAt == f.now.adding(seconds: 7))
    }

    @Test func bulkCancelTakesEveryPendingJobInBatches() throws {
        _ = try f.store.enqueue(try (0..<20_000).map { _ in try JobSpec(command: "true") }, now: f.now)
        var batches = 0
        let report = try f.store.cancelAll(in: .pending, now: f.now) { _ in batches += 1 }
        #expect(report.cancelled.count == 20_000 && batches >= 10)
        let counts = try f.store.counts()
        #expect(counts[.cancelled] == 20_000 && counts[.pending] == 0)
    }
}
