import PostgresNIO
import QueueCore

extension PostgresJobStore {
    /// The queue's figures for monitoring (`queuectl metrics`).
    ///
    /// Job counts are the same read as `status`; none of the figures
    /// grows with the tables: job counts and run totals are kept by triggers in
    /// sharded rows (a few hundred at most), and the latency is one index seek per
    /// queue and priority in use.
    public func metrics(now: Timestamp) throws -> QueueMetrics {
        let jobs = try counts()
        return try readSnapshot {
            let workersByState = try workerStates()
            let (runs, histogram) = try runFigures()
            let oldest = try oldestWaitingRunAt(now: now)
            let latency = oldest.map { Swift.max(0, now.milliseconds - $0) } ?? 0
            return QueueMetrics(jobs: jobs, runs: runs, runDuration: histogram,
                                queueLatencyMilliseconds: latency, workers: workersByState)
        }
    }

    /// Registered workers by what they are doing (every state present), by the rule
    /// `worker list` shows: asked to stop, else holding a job, else idle.
    private func workerStates() throws -> [WorkerState: Int] {
        var states = Dictionary(uniqueKeysWithValues: WorkerState.allCases.map { ($0, 0) })
        for row in try session.query("""
            SELECT CASE WHEN w.stop_requested THEN 'stopping'
                        WHEN EXISTS (SELECT 1 FROM jobs AS j WHERE j.state = 'processing' AND j.worker_id = w.id) THEN 'busy'
                        ELSE 'idle' END AS s, count(*)
            FROM workers AS w GROUP BY s
            """) {
            let (name, n) = try row.decode((String, Int).self)
            if let state = WorkerState(rawValue: name) { states[state] = n }
        }
        return states
    }

    /// Upper bounds of the run-duration histogram's buckets, as the run-totals
    /// triggers file runs under them (migrations 1 and 3; the same bounds as the
    /// SQLite store's): other bounds need a migration that rebuilds `run_totals`.
    static let runDurationBoundsMilliseconds: [Int64] = [
        5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000,
    ]

    /// Finished runs by outcome and the histogram of their durations, summed over
    /// the shards of `run_totals`.
    private func runFigures() throws -> ([RunOutcome: Int], DurationHistogram) {
        let bounds = Self.runDurationBoundsMilliseconds
        var runs = Dictionary(uniqueKeysWithValues: RunOutcome.allCases.map { ($0, 0) })
        var perBucket = Array(repeating: 0, count: bounds.count)
        var count = 0
        var sum: Int64 = 0
        for row in try session.query("""
            SELECT outcome, le_ms, sum(n)::BIGINT, sum(sum_ms)::BIGINT FROM run_totals GROUP BY outcome, le_ms
            """) {
            let (outcomeText, upperBound, n, sumMilliseconds) = try row.decode((String, Int64, Int, Int64).self)
            if let outcome = RunOutcome(rawValue: outcomeText) { runs[outcome, default: 0] += n }
            count += n
            sum += sumMilliseconds
            if let index = bounds.firstIndex(of: upperBound) { perBucket[index] += n }
        }
        var cumulative = 0
        let buckets = zip(bounds, perBucket).map { bound, n in
            cumulative += n
            return (upperBoundMilliseconds: bound, cumulativeCount: cumulative)
        }
        return (runs, DurationHistogram(buckets: buckets, count: count, sumMilliseconds: sum))
    }

    /// The earliest `run_at` among jobs that are due and wait for a worker, in ms;
    /// nil when none waits. Due jobs are `pending` ones, read per queue and priority
    /// from `jobs_ready` (whose first entry for a priority has its earliest
    /// `run_at`: a skip over the priorities in use, never a walk of the jobs), and
    /// jobs whose time came while no claim has moved them to `pending` yet (the
    /// first entry of `jobs_due`, when it is not in the future).
    private func oldestWaitingRunAt(now: Timestamp) throws -> Int64? {
        try session.query("""
            WITH RECURSIVE p(queue, priority) AS (
                SELECT q.name, (SELECT max(priority) FROM jobs WHERE state = 'pending' AND queue = q.name) FROM queues AS q
                UNION ALL
                SELECT p.queue, (SELECT max(priority) FROM jobs
                                 WHERE state = 'pending' AND queue = p.queue AND priority < p.priority)
                FROM p WHERE p.priority IS NOT NULL)
            SELECT least(
                (SELECT min((SELECT min(run_at) FROM jobs
                             WHERE state = 'pending' AND queue = p.queue AND priority = p.priority))
                 FROM p WHERE p.priority IS NOT NULL),
                (SELECT run_at FROM (SELECT run_at FROM jobs WHERE state IN ('scheduled', 'failed') ORDER BY run_at LIMIT 1) AS due
                 WHERE run_at <= \(now.milliseconds)))
            """).first?.decode(Int64?.self)
    }
}
