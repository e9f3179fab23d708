import Foundation
import Testing
@testable import QueueCore

/// Enqueue: defaults, all-or-nothing batches, duplicate ids that never overwrite.
@Suite struct StoreEnqueueTests {
    let f: StoreFixture
    init() throws { f = try StoreFixture() }

    @Test func newJobIsPendingWithDefaultsFromConfig() throws {
        let job = try f.enqueue("a", "echo hi")
        #expect(job.state == .pending)
        #expect(job.attempts == 0)
        #expect(job.maxRetries == 3)
        #expect(job.priority == 0)
        #expect(job.runAt == f.now)
        #expect(job.createdAt == f.now && job.updatedAt == f.now)
        #expect(job.timeout == nil && job.lastError == nil && job.exitCode == nil && job.workerID == nil)
        #expect(try f.store.job(id: "a") == job)

        try f.store.setConfig(.maxRetries, 7)
        #expect(try f.enqueue("b").maxRetries == 7)
        #expect(try f.enqueue("c", maxRetries: 0).maxRetries == 0)
    }

    /// Every field the insert binds reads back as given, each with a distinct
    /// value so two swapped parameters cannot go unnoticed, in a batch whose jobs
    /// differ (bindings of one row must not leak into the next).
    @Test func everyFieldIsStoredAsGiven() throws {
        let runAt = f.now.adding(seconds: 90)
        let specs = [
            try JobSpec(id: "full", command: "printf 'é \\n'; exit 4", maxRetries: 5, priority: -7, runAt: runAt,
                        delaySeconds: nil, timeout: 12.5),
            try JobSpec(id: "bare", command: "true", maxRetries: nil, priority: 0, runAt: nil, delaySeconds: nil, timeout: nil),
        ]
        let enqueued = try f.store.enqueue(specs, now: f.now)
        let full = try f.store.job(id: "full")
        #expect(full.command == "printf 'é \\n'; exit 4")
        #expect(full.maxRetries == 5 && full.priority == -7 && full.timeout == 12.5)
        #expect(full.runAt == runAt && full.createdAt == f.now && full.updatedAt == f.now)
        let bare = try f.store.job(id: "bare")
        #expect(bare.maxRetries == 3 && bare.priority == 0 && bare.timeout == nil && bare.runAt == f.now)
        #expect(enqueued == [full, bare])
    }

    @Test func generatedIdsAreUniqueAndValid() throws {
        let specs = try (0..<200).map { _ in try JobSpec(command: "true") }
        let jobs = try f.store.enqueue(specs, now: f.now)
        #expect(Set(jobs.map(\.id)).count == 200)
        for job in jobs { try JobID.validate(job.id) }
        #expect(try f.store.counts()[.pending] == 200)
    }

    @Test func generatedIdsSortInEnqueueOrder() throws {
        // "generated, unique, sortable": within one batch (one millisecond) too.
        let specs = try (0..<100).map { _ in try JobSpec(command: "true") }
        let ids = try f.store.enqueue(specs, now: f.now).map(\.id)
        #expect(ids == ids.sorted())
        f.advance(seconds: 0.001)
        let later = try f.store.enqueue([JobSpec(command: "true")], now: f.now)[0].id
        #expect(later > ids.last!)
    }

    @Test func batchIsAllOrNothingOnADuplicateWithinIt() throws {
        let specs = try [JobSpec(id: "x", command: "true"), JobSpec(id: "y", command: "true"), JobSpec(id: "x", command: "false")]
        let error = #expect(throws: QueueError.self) { try f.store.enqueue(specs, now: f.now) }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("'x'") == true)
        #expect(try f.store.jobs(state: nil, limit: 100, offset: 0).isEmpty)
        #expect(try f.store.counts().total == 0)
    }

    @Test func duplicateOfAnExistingJobNeverOverwritesIt() throws {
        let original = try f.enqueue("dup", "echo original", priority: 5)
        try f.worker("w1")
        let claimed = try f.claim("w1")
        _ = try f.store.finish(claimed, workerID: "w1", result: StoreFixture.success, now: f.now)
        let before = try f.store.job(id: "dup")
        #expect(before.state == .completed)

        f.advance(seconds: 1)
        let batch = try [JobSpec(id: "fresh", command: "true"), JobSpec(id: "dup", command: "echo replaced")]
        #expect(throws: QueueError.self) { try f.store.enqueue(batch, now: f.now) }
        #expect(try f.store.job(id: "dup") == before)
        #expect(before.command == original.command)
        #expect(throws: QueueError.self) { try f.store.job(id: "fresh") }
        #expect(try f.store.counts()[.pending] == 0)
        #expect(try f.store.counts()[.completed] == 1)
        #expect(try f.assertCountsConsistent())
    }

    @Test func delayAndRunAtSetEligibility() throws {
        let delayed = try f.enqueue("d", delay: 90)
        #expect(delayed.runAt == f.now.adding(seconds: 90))
        let at = Timestamp(iso8601: "2030-05-01T12:00:00Z")!
        #expect(try f.enqueue("r", runAt: at).runAt == at)
        let past = Timestamp(iso8601: "2020-01-01T00:00:00Z")!
        #expect(try f.enqueue("p", runAt: past).runAt == past)
    }

    @Test func emptyBatchWritesNothing() throws {
        #expect(try f.store.enqueue([], now: f.now).isEmpty)
        #expect(try f.store.counts().total == 0)
    }

    @Test func unknownJobIsNotFound() throws {
        let error = #expect(throws: QueueError.self) { try f.store.job(id: "nope") }
        #expect(error?.kind == .notFound)
    }
}
