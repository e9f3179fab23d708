import Foundation
import PostgresNIO
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

/// A worker's claims and results read the jobs they change, found by key, even
/// with generic plans chosen from statistics that no longer fit the table
/// (migration 5): a result does not read every processing job, and a claim does
/// not scan the table.
@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresIndexedLookupTests {
    /// A queue whose statistics were taken with 3,000 pending jobs and nothing
    /// processing, after which worker `w1` came to hold 1,000 of them. The
    /// session plans every statement generically, as a connection does after a
    /// few runs of one.
    func staleQueue() throws -> LeaseFixture {
        let f = try LeaseFixture()
        try f.insert("first")
        try f.session.execute("""
            INSERT INTO \(unescaped: f.s).jobs (id, command, state, max_retries, run_at, created_at, updated_at)
            SELECT 'job-' || g, 'true', 'pending', 3, \(f.t0.milliseconds), \(f.t0.milliseconds), \(f.t0.milliseconds)
            FROM generate_series(1, 3000) AS g
            """)
        try f.session.execute("ANALYZE \(unescaped: f.s).jobs")
        try f.register("w1")
        try f.session.execute("""
            UPDATE \(unescaped: f.s).jobs SET state = 'processing', attempts = 1, worker_id = 'w1'
            WHERE id IN (SELECT 'job-' || g FROM generate_series(1, 1000) AS g)
            """)
        try f.session.execute("SET plan_cache_mode = force_generic_plan")
        return f
    }

    /// Rows of `jobs` read so far (sequentially, through an index) by this
    /// connection and not yet in the server's statistics; they stay unsent during
    /// a transaction, so two readings in one transaction give what came between.
    func jobRowsRead(_ f: LeaseFixture) throws -> (scanned: Int64, fetched: Int64) {
        try f.session.query("""
            SELECT seq_tup_read, idx_tup_fetch FROM pg_stat_xact_user_tables
            WHERE schemaname = \(f.store.address.schema) AND relname = 'jobs'
            """).first!.decode((Int64, Int64).self)
    }

    /// The rows of `jobs` that `body` read, in a transaction.
    func jobRowsRead(_ f: LeaseFixture, by body: () throws -> Void) throws -> (scanned: Int64, fetched: Int64) {
        try f.session.transaction {
            let before = try jobRowsRead(f)
            try body()
            let after = try jobRowsRead(f)
            return (after.scanned - before.scanned, after.fetched - before.fetched)
        }
    }

    func result(_ f: LeaseFixture, _ claimed: ClaimedJob) throws -> (json: String, now: Timestamp) {
        let now = f.t0.adding(seconds: 2)
        let run = FinishedRun(claimed: claimed, result: RunResult(outcome: .succeeded, exitCode: 0))
        let ending = RunEnding.alternatives(job: claimed.job, result: run.result, policy: QueueConfig().retryPolicy, now: now)
        return (try FinishInput.json([run], endings: [ending], now: now), now)
    }

    func claimOne(_ f: LeaseFixture) throws -> ClaimedJob {
        try #require(f.claimed(f.store.settle([], givingBack: [], request: f.request("w1"), jobsDone: nil).next))
    }

    @Test func aResultReadsItsOwnJobNotEveryProcessingOne() throws {
        let f = try staleQueue()
        for through in ["function", "statement"] {
            let claimed = try claimOne(f)
            let (json, now) = try result(f, claimed)
            let read = try jobRowsRead(f) {
                if through == "function" {
                    try f.session.query("SELECT * FROM queuectl_settle(\(json)::JSONB, \(now.milliseconds), 'w1', 0, NULL, NULL)")
                } else {
                    try f.session.prepared(PreparedStatement<FinishRunsSQL>([json, now.milliseconds, "w1"]))
                }
            }
            #expect(try f.state(claimed.job.id).state == "completed", "\(through)")
            #expect(read.scanned == 0 && read.fetched <= 3,
                    "the \(through) read \(read.fetched) jobs through an index and scanned \(read.scanned) to record one result")
        }
    }

    @Test func aClaimReadsTheJobsItTakesNotTheTable() throws {
        let f = try staleQueue()
        for through in ["function", "statement"] {
            let now = f.t0.adding(seconds: 2)
            var claimed = 0
            let read = try jobRowsRead(f) {
                claimed = through == "function"
                    ? try f.session.query("SELECT o_id FROM queuectl_settle('[]'::JSONB, \(now.milliseconds), 'w1', 2, NULL, NULL) WHERE o_id IS NOT NULL").count
                    : try f.session.prepared(PreparedStatement<ClaimSQL>(["default", now.milliseconds, 2, "w1", "host-a"])).count
            }
            #expect(claimed == 2, "\(through)")
            #expect(read.scanned == 0 && read.fetched <= 6,
                    "the \(through) read \(read.fetched) jobs through an index and scanned \(read.scanned) to claim two")
        }
    }

    /// The function's calls plan its statements once per connection: left to the
    /// plan cache, a claim beside a million analyzed rows was planned again at
    /// every call (a `LIMIT` parameter makes the generic plan look dear). What that
    /// costs is measured by `queuectl bench --scale`; this checks the setting that
    /// prevents it is on the function, whatever the session's own setting.
    @Test func theSettleFunctionKeepsItsGenericPlans() throws {
        let f = try LeaseFixture()
        let config = try f.session.query("""
            SELECT p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = \(f.store.address.schema) AND p.proname = 'queuectl_settle'
            """).first?.decode([String]?.self)
        #expect(config == ["plan_cache_mode=force_generic_plan"])
    }
}
