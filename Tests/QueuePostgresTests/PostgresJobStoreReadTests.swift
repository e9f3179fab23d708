import Foundation
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

/// The PostgreSQL store's read side (lists, pages, positions, histories, stats,
/// metrics, events), held to the SQLite store's semantics. Runs and state changes
/// that other operations write are put in place with plain SQL here, so each test
/// states exactly the rows it reads.
@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresJobStoreReadTests {
    let db: TestPostgres
    let store: PostgresJobStore
    /// The tests' clock: 2027-01-15T08:00:00Z.
    let now = Timestamp(milliseconds: 1_800_000_000_000)

    init() throws {
        db = try TestPostgres()
        store = try PostgresJobStore(address: try db.parsedAddress())
    }

    /// Enqueues `id` at `now + at` seconds, due at once.
    @discardableResult
    func enqueue(_ id: String, command: String = "true", priority: Int = 0, queue: String = "default", at seconds: Double = 0,
                 runAt: Timestamp? = nil) throws -> Job {
        try store.enqueue([try JobSpec(id: id, command: command, priority: priority, runAt: runAt, queue: queue)],
                          now: now.adding(seconds: seconds))[0]
    }

    func set(_ id: String, state: JobState, updatedAt: Timestamp? = nil, lastError: String? = nil) throws {
        try store.session.execute("""
            UPDATE jobs SET state = \(state.rawValue), updated_at = coalesce(\(updatedAt?.milliseconds), updated_at),
                            last_error = coalesce(\(lastError), last_error)
            WHERE id = \(id)
            """)
    }

    /// Inserts a run; `finished`/`outcome` nil: still going on.
    @discardableResult
    func addRun(_ jobID: String, attempt: Int = 1, started: Timestamp, finished: Timestamp? = nil, outcome: RunOutcome? = nil,
                queuedAt: Timestamp? = nil, worker: String = "w1") throws -> Int64 {
        try store.session.query("""
            INSERT INTO runs (job_id, attempt, worker_id, queued_at, started_at, finished_at, outcome)
            VALUES (\(jobID), \(attempt), \(worker), \((queuedAt ?? started).milliseconds), \(started.milliseconds),
                    \(finished?.milliseconds), \(outcome?.rawValue))
            RETURNING id
            """).first!.decode(Int64.self)
    }

    // MARK: Pages, positions and the whole list

    /// A mixed table: three queues, priorities, every order's tie-breaks.
    func mixedJobs() throws {
        try enqueue("a", priority: 0, queue: "default", at: 0)
        try enqueue("b", priority: 5, queue: "mail", at: 1)
        try enqueue("c", priority: 0, queue: "mail", at: 2, runAt: now.adding(seconds: -30))
        try enqueue("d", priority: 5, queue: "default", at: 3)
        try enqueue("e", priority: -1, queue: "video", at: 4)
        try enqueue("f", priority: 0, queue: "video", at: 5)
        try enqueue("g", priority: 5, queue: "video", at: 6, runAt: now.adding(seconds: 1))
        try enqueue("h", priority: 0, queue: "default", at: 7)
        try enqueue("dead1", at: 8)
        try enqueue("dead2", at: 9)
        try enqueue("dead3", at: 10)
        try set("dead1", state: .dead, updatedAt: now.adding(seconds: 100), lastError: "exit 3")
        try set("dead2", state: .dead, updatedAt: now.adding(seconds: 300), lastError: "Timed OUT")
        try set("dead3", state: .dead, updatedAt: now.adding(seconds: 100), lastError: "exit 9")
    }

    func ids(_ query: JobListQuery, limit: Int, offset: Int) throws -> (ids: [String], total: Int, offset: Int) {
        let page = try store.jobPage(query, limit: limit, offset: offset)
        return (page.jobs.map(\.id), page.total, page.offset)
    }

    /// Every page of `query` (2 at a time, so later pages walk from the other end),
    /// each job's position, and the streamed list, against `expected`.
    func expectList(_ query: JobListQuery, _ expected: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        var paged: [String] = []
        var offset = 0
        while offset < expected.count + 2 {
            let page = try ids(query, limit: 2, offset: offset)
            #expect(page.total == expected.count, sourceLocation: sourceLocation)
            #expect(page.offset == offset, sourceLocation: sourceLocation)
            paged += page.ids
            offset += 2
        }
        #expect(paged == expected, sourceLocation: sourceLocation)
        for (position, id) in expected.enumerated() {
            #expect(try store.jobPosition(id: id, in: query) == position, "\(id)", sourceLocation: sourceLocation)
        }
        var streamed: [String] = []
        try store.forEachJob(query) { streamed.append($0.id) }
        #expect(streamed == expected, sourceLocation: sourceLocation)
    }

    /// A page and its total are read in one read-only snapshot.
    @Test func readsOfSeveralStatementsShareOneReadOnlySnapshot() throws {
        let (isolation, readOnly) = try store.readSnapshot {
            try store.session.query("SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')")
                .first!.decode((String, String).self)
        }
        #expect(isolation == "repeatable read")
        #expect(readOnly == "on")
        // The session is back to its defaults afterwards.
        let after = try store.session.query("SELECT current_setting('transaction_isolation')").first!.decode(String.self)
        #expect(after == "read committed")
    }

    @Test func pendingInEveryOrder() throws {
        try mixedJobs()
        let pending = ["a", "b", "c", "d", "e", "f", "g", "h"]
        try expectList(JobListQuery(state: .pending, order: .newest), pending.reversed())
        try expectList(JobListQuery(state: .pending, order: .oldest), pending)
        // Claim order across queues: priority, then run_at, then enqueue order
        // (b and g are both due at now + 1 s: b was enqueued first).
        try expectList(JobListQuery(state: .pending, order: .claim), ["b", "g", "d", "c", "a", "f", "h", "e"])
        try expectList(JobListQuery(state: .pending, filter: "queue:video", order: .claim), ["g", "f", "e"])
    }

    @Test func claimOrderFallsBackToNewestForOtherStatesAndAll() throws {
        try mixedJobs()
        try expectList(JobListQuery(state: .dead, order: .claim), ["dead3", "dead2", "dead1"])
        try expectList(JobListQuery(state: nil, order: .claim),
                       ["dead3", "dead2", "dead1", "h", "g", "f", "e", "d", "c", "b", "a"])
    }

    @Test func deadLetterQueueIsMostRecentlyChangedFirst() throws {
        try mixedJobs()
        // dead2 changed last; dead1 and dead3 at the same time: the newer first.
        try expectList(JobListQuery(state: .dead, order: .recentlyChanged), ["dead2", "dead3", "dead1"])
    }

    @Test func filtersMatchIdCommandErrorsAndQueues() throws {
        try mixedJobs()
        try enqueue("mixed", command: "echo SendMail now", at: 11)
        try expectList(JobListQuery(state: nil, filter: "MAIL", order: .oldest), ["mixed"])
        try expectList(JobListQuery(state: nil, filter: "dead", order: .oldest), ["dead1", "dead2", "dead3"])
        try expectList(JobListQuery(state: .dead, filter: "timed out", order: .oldest), [])
        try expectList(JobListQuery(state: .dead, filter: "timed out", order: .oldest, matchErrors: true), ["dead2"])
        try expectList(JobListQuery(state: nil, filter: "queue:mail", order: .newest), ["c", "b"])
        try expectList(JobListQuery(state: .dead, filter: "queue:mail", order: .newest), [])
        try expectList(JobListQuery(state: nil, filter: "queue:nosuch", order: .newest), [])
    }

    @Test func pagesPastTheEndAreEmptyWithTheTotal() throws {
        try mixedJobs()
        let page = try store.jobPage(JobListQuery(state: .pending, order: .oldest), limit: 50, offset: 8)
        #expect(page.jobs.isEmpty && page.total == 8 && page.offset == 8)
        let last = try store.jobPage(JobListQuery(state: .pending, order: .oldest), limit: 50, offset: 7)
        #expect(last.jobs.map(\.id) == ["h"] && last.total == 8)
        #expect(try store.jobPosition(id: "dead1", in: JobListQuery(state: .pending)) == nil)
        #expect(try store.jobPosition(id: "nosuch", in: JobListQuery(state: nil)) == nil)
    }

    @Test func forEachJobStreamsMoreThanOneBatch() throws {
        let count = PostgresJobStore.forEachBatch * 2 + 7
        try store.seedForBenchmark(count: count, pendingEvery: 3, now: now)
        var seen = 0
        var last = ""
        try store.forEachJob(JobListQuery(state: nil, order: .oldest)) { job in
            #expect(job.id > last)
            last = job.id
            seen += 1
        }
        #expect(seen == count)
        #expect(try store.counts()[.pending] == count / 3)
        #expect(try store.jobPage(JobListQuery(state: .completed), limit: 1, offset: 0).total == count - count / 3)
    }

    // MARK: Plain lists

    @Test func listsByQueueScheduleTagAndIds() throws {
        try mixedJobs()
        try enqueue("nightly@2027-01-15T07:00:00Z", at: 12)
        try enqueue("nightly@2027-01-14T07:00:00Z", at: 13)
        try enqueue("nightlyx@1", at: 14)
        var tagged = try JobSpec(id: "t1", command: "true")
        tagged.tags = ["red", "blue"]
        var other = try JobSpec(id: "t2", command: "true")
        other.tags = ["blue"]
        _ = try store.enqueue([tagged, other], now: now.adding(seconds: 15))

        #expect(try store.jobs(state: .pending, queue: "mail", schedule: nil, limit: 10, offset: 0).map(\.id) == ["b", "c"])
        #expect(try store.jobs(state: nil, queue: "video", schedule: nil, limit: 2, offset: 1).map(\.id) == ["f", "g"])
        #expect(try store.jobs(state: nil, queue: nil, schedule: "nightly", limit: 10, offset: 0).map(\.id)
                == ["nightly@2027-01-14T07:00:00Z", "nightly@2027-01-15T07:00:00Z"])
        #expect(try store.jobs(tagged: "blue", state: nil, limit: 10, offset: 0).map(\.id) == ["t1", "t2"])
        #expect(try store.jobs(tagged: "red", state: .pending, limit: 10, offset: 0).map(\.id) == ["t1"])
        #expect(try store.jobs(tagged: "red", state: .dead, limit: 10, offset: 0).isEmpty)
        #expect(try store.jobs(tagged: "blue", state: nil, limit: 10, offset: 1).map(\.id) == ["t2"])
        #expect(try store.jobs(ids: ["c", "nosuch", "a"]).map(\.id).sorted() == ["a", "c"])
        #expect(try store.jobs(ids: []).isEmpty)
        #expect(try store.jobs(ids: ["t1"]).first?.tags == ["red", "blue"])
    }

    @Test func completionIdsByPrefix() throws {
        try mixedJobs()
        try enqueue("dea", at: 20)
        #expect(try store.jobIDs(startingWith: "dea", state: nil, limit: 10) == ["dea", "dead1", "dead2", "dead3"])
        #expect(try store.jobIDs(startingWith: "dea", state: .dead, limit: 2) == ["dead1", "dead2"])
        #expect(try store.jobIDs(startingWith: "dea", state: .pending, limit: 10) == ["dea"])
        #expect(try store.jobIDs(startingWith: "", state: nil, limit: 3) == ["a", "b", "c"])
        #expect(try store.jobIDs(startingWith: "zz", state: nil, limit: 3).isEmpty)
    }

    // MARK: Histories and dependents

    @Test func runsAreNumberedOverTheJobsLife() throws {
        try enqueue("j")
        try enqueue("other")
        let first = try addRun("j", attempt: 1, started: now, finished: now.adding(seconds: 1), outcome: .failed)
        try addRun("other", started: now)
        let second = try addRun("j", attempt: 2, started: now.adding(seconds: 2), finished: now.adding(seconds: 3), outcome: .failed)
        // After `dlq retry` attempts start again at 1; the run number does not.
        let third = try addRun("j", attempt: 1, started: now.adding(seconds: 4))
        let runs = try store.runs(jobID: "j")
        #expect(runs.map(\.number) == [1, 2, 3])
        #expect(runs.map(\.id) == [first, second, third])
        #expect(runs.map(\.attempt) == [1, 2, 1])
        #expect(runs[0].outcome == .failed && runs[0].finishedAt == now.adding(seconds: 1) && runs[2].outcome == nil)
        #expect(try store.runID(jobID: "j", number: 2) == second)
        #expect(try store.runID(jobID: "j", number: nil) == third)
        #expect(try store.runID(jobID: "j", number: 4) == nil)
        #expect(try store.runID(jobID: "j", number: 0) == nil)
        #expect(try store.runID(jobID: "nosuch", number: nil) == nil)
        #expect(try store.runIsActive(runID: third))
        #expect(try !store.runIsActive(runID: first))
        #expect(try !store.runIsActive(runID: 999_999))
        #expect(try store.runs(jobID: "nosuch").isEmpty)
        #expect(try store.lastRunFinishedAt() == now.adding(seconds: 3))
    }

    @Test func dependentsInEnqueueOrder() throws {
        try enqueue("base")
        var specs: [JobSpec] = []
        for id in ["x", "y", "z"] {
            var spec = try JobSpec(id: id, command: "true")
            spec.dependsOn = ["base"]
            specs.append(spec)
        }
        _ = try store.enqueue(specs, now: now)
        #expect(try store.dependents(of: "base", limit: 10).map(\.id) == ["x", "y", "z"])
        #expect(try store.dependents(of: "base", limit: 2).map(\.id) == ["x", "y"])
        #expect(try store.dependentCount(of: "base") == 3)
        #expect(try store.dependentCount(of: "x") == 0)
        #expect(try store.dependents(of: "base", limit: 10).allSatisfy { $0.state == .blocked && $0.dependsOn == ["base"] })
    }

    @Test func nextRunAtIsTheEarliestWaitingJobOrScheduleTick() throws {
        #expect(try store.nextRunAt() == nil)
        try enqueue("due")
        #expect(try store.nextRunAt() == nil)
        try enqueue("later", runAt: now.adding(seconds: 600))
        try enqueue("sooner", runAt: now.adding(seconds: 60))
        #expect(try store.nextRunAt() == now.adding(seconds: 60))
        try store.session.execute("""
            INSERT INTO schedules (name, every_seconds, job, next_at) VALUES ('s', 10, '{}', \(now.adding(seconds: 30).milliseconds))
            """)
        #expect(try store.nextRunAt() == now.adding(seconds: 30))
        try store.session.execute("UPDATE schedules SET paused = TRUE")
        #expect(try store.nextRunAt() == now.adding(seconds: 60))
    }

    // MARK: Throughput, stats, metrics

    @Test func throughputAndStatsCountRecentRunsByOutcome() throws {
        for id in ["r1", "r2", "r3", "r4", "r5"] { try enqueue(id) }
        // Durations 1 s, 2 s, 3 s, 10 s; waits 0, 5 s, 0, 0.
        try addRun("r1", started: now.adding(seconds: -11), finished: now.adding(seconds: -10), outcome: .succeeded)
        try addRun("r2", started: now.adding(seconds: -22), finished: now.adding(seconds: -20), outcome: .failed,
                   queuedAt: now.adding(seconds: -27))
        try addRun("r3", started: now.adding(seconds: -123), finished: now.adding(seconds: -120), outcome: .cancelled)
        try addRun("r4", started: now.adding(seconds: -610), finished: now.adding(seconds: -600), outcome: .timedOut)
        try addRun("r5", started: now.adding(seconds: -5))   // still running: in no figure
        let throughput = try store.throughput(now: now, minutes: 30)
        #expect(throughput.succeededLastMinute == 1 && throughput.failedLastMinute == 1)
        // `now` starts a clock minute (index 29): -10 s and -20 s fall in index 28,
        // -120 s in 27, -600 s in 19. A cancelled run counts as not succeeded here.
        var succeeded = Array(repeating: 0, count: 30), failed = Array(repeating: 0, count: 30)
        succeeded[28] = 1
        failed[28] = 1
        failed[27] = 1
        failed[19] = 1
        #expect(throughput.succeededPerMinute == succeeded && throughput.failedPerMinute == failed)
        #expect(try store.throughput(now: now, minutes: 3).failedPerMinute == [1, 1, 0])

        let stats = try store.stats(now: now)
        #expect(stats.windows.map(\.minutes) == [1, 5, 60])
        #expect(stats.windows[0] == QueueStats.Window(minutes: 1, succeeded: 1, failed: 1, cancelled: 0))
        #expect(stats.windows[1] == QueueStats.Window(minutes: 5, succeeded: 1, failed: 1, cancelled: 1))
        #expect(stats.windows[2] == QueueStats.Window(minutes: 60, succeeded: 1, failed: 2, cancelled: 1))
        #expect(stats.successRate == 1.0 / 3.0)
        // Four durations sorted 1, 2, 3, 10: p50 at round(1.5) = 2 → 3 s, p95 at round(2.85) = 3 → 10 s.
        #expect(stats.runDuration == QueueStats.Percentiles(p50: 3, p95: 10, max: 10))
        #expect(stats.queueWait == QueueStats.Percentiles(p50: 0, p95: 5, max: 5))
        #expect(stats.perMinute.map(\.succeeded) == succeeded && stats.perMinute.map(\.failed) == failed)

        let empty = try store.stats(now: now.adding(seconds: 86_400))
        #expect(empty.successRate == nil && empty.runDuration == QueueStats.Percentiles(p50: nil, p95: nil, max: nil))
    }

    @Test func metricsReadTheRunTotalsAndTheOldestWaitingJob() throws {
        try enqueue("old", priority: 0, queue: "mail", runAt: now.adding(seconds: -90))
        try enqueue("new", priority: 9, queue: "default", runAt: now.adding(seconds: -10))
        try enqueue("later", runAt: now.adding(seconds: 3600))
        try addRun("new", started: now, finished: now.adding(seconds: 0.004), outcome: .succeeded)
        try addRun("new", started: now, finished: now.adding(seconds: 2), outcome: .succeeded)
        try addRun("old", started: now, finished: now.adding(seconds: 7200), outcome: .failed)
        try store.session.execute("""
            INSERT INTO workers (id, pid, pid_start, host, started_at, heartbeat_at) VALUES
                ('w-idle', 1, 1, 'h', 0, 0), ('w-busy', 2, 2, 'h', 0, 0), ('w-stop', 3, 3, 'h', 0, 0)
            """)
        try store.session.execute("UPDATE workers SET stop_requested = TRUE WHERE id = 'w-stop'")
        try store.session.execute("UPDATE jobs SET state = 'processing', worker_id = 'w-busy' WHERE id = 'new'")

        let metrics = try store.metrics(now: now)
        #expect(metrics.jobs[.pending] == 1 && metrics.jobs[.processing] == 1 && metrics.jobs[.scheduled] == 1)
        #expect(metrics.runs[.succeeded] == 2 && metrics.runs[.failed] == 1 && metrics.runs[.cancelled] == 0)
        #expect(metrics.runDuration.count == 3 && metrics.runDuration.sumMilliseconds == 4 + 2000 + 7_200_000)
        let buckets = Dictionary(uniqueKeysWithValues: metrics.runDuration.buckets.map { ($0.upperBoundMilliseconds, $0.cumulativeCount) })
        #expect(buckets[5] == 1 && buckets[1_000] == 1 && buckets[2_500] == 2 && buckets[3_600_000] == 2)
        #expect(metrics.queueLatencyMilliseconds == 90_000)
        #expect(metrics.workers == [.idle: 1, .busy: 1, .stopping: 1])

        // A job whose time came while no claim promoted it waits too.
        try store.session.execute("UPDATE jobs SET run_at = \(now.adding(seconds: -300).milliseconds) WHERE id = 'later'")
        #expect(try store.metrics(now: now).queueLatencyMilliseconds == 300_000)
        try store.session.execute("DELETE FROM jobs WHERE id IN ('old', 'later')")
        #expect(try store.metrics(now: now).queueLatencyMilliseconds == 0)
        // Totals are counters: deleting runs leaves them.
        try store.session.execute("DELETE FROM runs")
        #expect(try store.metrics(now: now).runs[.succeeded] == 2)
    }

    // MARK: Events

    @Test func eventsComeFromJobsRunsAndChangesInTimeOrder() throws {
        try enqueue("e1", at: 0)
        var dependent = try JobSpec(id: "e2", command: "true")
        dependent.dependsOn = ["e1"]
        _ = try store.enqueue([dependent], now: now.adding(seconds: 1))
        try addRun("e1", started: now.adding(seconds: 2), finished: now.adding(seconds: 4), outcome: .failed, worker: "w9")
        try store.session.execute("""
            INSERT INTO events (at, job_id, kind, attempt, detail) VALUES (\(now.adding(seconds: 5).milliseconds), 'e1', 'retrying', 1, 'retry at x')
            """)
        try addRun("e1", attempt: 2, started: now.adding(seconds: 6), finished: now.adding(seconds: 7), outcome: .cancelled)

        let start = try store.eventCursor(since: now)
        let (events, cursor) = try store.events(after: start, limit: 100)
        #expect(events.map(\.kind) == ["enqueued", "enqueued", "started", "failed", "retrying", "started"])
        #expect(events.map(\.jobID) == ["e1", "e2", "e1", "e1", "e1", "e1"])
        #expect(events[1].detail == "depends on e1")
        #expect(events[2].detail == "worker w9" && events[2].attempt == 1)
        #expect(events[4].detail == "retry at x")
        #expect(try store.events(after: cursor, limit: 100).events.isEmpty)

        let late = try store.eventCursor(since: now.adding(seconds: 5))
        #expect(try store.events(after: late, limit: 100).events.map(\.kind) == ["retrying", "started"])
        // The newest three times are the cancelled end (told by no event of its
        // own), the second start and the change.
        let lastThree = try store.eventCursor(last: 3)
        #expect(try store.events(after: lastThree, limit: 100).events.map(\.kind) == ["retrying", "started"])

        try enqueue("e3", at: 8)
        #expect(try store.events(after: cursor, limit: 100).events.map(\.jobID) == ["e3"])
    }

    @Test func addressAndEngineNameNoSecret() throws {
        #expect(store.displayAddress.hasPrefix("postgres://"))
        #expect(store.displayAddress.contains("schema=\(db.schema)"))
        #expect(store.engine.hasPrefix("postgresql 1"))
        #expect(try store.benchmarkDescription().hasPrefix("PostgreSQL 1"))
    }
}
