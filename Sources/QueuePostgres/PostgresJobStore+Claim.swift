import PostgresNIO
import QueueCore

/// Claims: the best eligible jobs (see `JobState` for the rule), taken with
/// `FOR UPDATE SKIP LOCKED` so workers on many hosts claiming at once never get
/// the same job and never wait for each other's rows.
extension PostgresJobStore {
    public func claim(_ request: ClaimRequest) throws -> ClaimOutcome {
        try settle([], givingBack: [], request: request, jobsDone: nil).next
    }

    /// What the first statement of a claim transaction found: the config, whether
    /// the worker may claim, and the open queues it serves in turn order.
    struct ClaimStart {
        var refused: ClaimOutcome?
        /// The worker's host, recorded on each run it opens.
        var host = ""
        var config = QueueConfig()
        /// Open queues the worker serves, least recently served first.
        var order: [(name: String, concurrency: Int?)] = []
        /// Whether any queue has a concurrency limit (then a finished job frees a
        /// place and idle workers are woken).
        var anyLimit = false
        var schedulesDue = false
    }

    /// The once-per-transaction part of claiming, in one statement: promotes jobs
    /// whose time came (at most ``promotionBatch``, skipping rows another claim is
    /// promoting), reads the worker's row (`FOR KEY SHARE`: recovery cannot delete
    /// it until this transaction ends, so it cannot miss a job claimed here), the
    /// config and the open queues, and whether a schedule is due.
    static func beginClaims(_ session: PostgresSession, _ s: String, workerID: String, serving: [String]?,
                            now: Timestamp) throws -> ClaimStart {
        let now = now.milliseconds
        guard let row = try session.query("""
            WITH promoted AS (
                UPDATE \(unescaped: s).jobs SET state = 'pending'
                WHERE seq = ANY(ARRAY(SELECT seq FROM \(unescaped: s).jobs
                                      WHERE state IN ('scheduled', 'failed') AND run_at <= \(now)
                                      ORDER BY run_at LIMIT \(unescaped: String(promotionBatch)) FOR UPDATE SKIP LOCKED))
                  AND state IN ('scheduled', 'failed') AND run_at <= \(now)
                RETURNING 1
            ), w AS (
                SELECT stop_requested, host FROM \(unescaped: s).workers WHERE id = \(workerID) FOR KEY SHARE
            )
            SELECT (SELECT stop_requested FROM w), (SELECT host FROM w),
                ARRAY(SELECT key FROM \(unescaped: s).config WHERE value IS NOT NULL ORDER BY key),
                ARRAY(SELECT value FROM \(unescaped: s).config WHERE value IS NOT NULL ORDER BY key),
                ARRAY(SELECT name FROM \(unescaped: s).queues WHERE NOT paused ORDER BY served, name),
                ARRAY(SELECT coalesce(concurrency, 0)::BIGINT FROM \(unescaped: s).queues WHERE NOT paused ORDER BY served, name),
                EXISTS (SELECT 1 FROM \(unescaped: s).queues WHERE concurrency IS NOT NULL),
                EXISTS (SELECT 1 FROM \(unescaped: s).schedules WHERE NOT paused AND next_at <= \(now)),
                (SELECT count(*) FROM promoted)
            """).first else { return ClaimStart(refused: .workerReleased) }
        let columns = row.makeRandomAccess()
        var start = ClaimStart()
        let keys = try columns[2].decode([String].self), values = try columns[3].decode([Double].self)
        var config: [ConfigKey: Double] = [:]
        for (key, value) in zip(keys, values) { if let key = ConfigKey(rawValue: key) { config[key] = value } }
        start.config = QueueConfig(values: config)
        start.anyLimit = try columns[6].decode(Bool.self)
        guard let stop = try columns[0].decode(Bool?.self) else {
            start.refused = .workerReleased
            return start
        }
        if stop {
            start.refused = .stopRequested
            return start
        }
        start.host = try columns[1].decode(String.self)
        let names = try columns[4].decode([String].self), limits = try columns[5].decode([Int64].self)
        for (name, limit) in zip(names, limits) where serving == nil || serving!.contains(name) {
            start.order.append((name, limit > 0 ? Int(limit) : nil))
        }
        start.schedulesDue = try columns[7].decode(Bool.self)
        return start
    }

    /// Most jobs one transaction promotes from waiting for a time to `pending`
    /// (as SQLite's `promotionBatch`): a burst due at once is spread over claims.
    static let promotionBatch = 200

    /// Claims up to `limit` jobs in turn order (see `QueueTurns`): each claim goes
    /// to the least recently served open queue with a due job and a free place.
    /// With a single queue to serve, one statement claims the whole batch.
    ///
    /// A queue with a concurrency limit is claimed from under a lock on its row
    /// (`FOR UPDATE`, held to commit), so claimers on every host count its
    /// processing jobs one at a time and the limit is exact.
    static func claimJobs(_ session: PostgresSession, _ s: String, workerID: String, start: inout ClaimStart, limit: Int,
                          now: Timestamp) throws -> [ClaimedJob] {
        var claimed: [ClaimedJob] = []
        var empty = Set<String>()   // queues found with nothing to claim in this transaction
        while claimed.count < limit {
            var progress = false
            for index in start.order.indices where !empty.contains(start.order[index].name) {
                let queue = start.order[index]
                var room = start.order.count == 1 ? limit - claimed.count : 1
                if queue.concurrency != nil {
                    let locked = try session.query("""
                        SELECT concurrency FROM \(unescaped: s).queues WHERE name = \(queue.name) FOR UPDATE
                        """)
                    // The limit as it is now that the row is ours (it may have changed).
                    if let row = locked.first, let cap = try row.decode(Int?.self) {
                        let running = try session.query("""
                            SELECT count(*) FROM \(unescaped: s).jobs WHERE state = 'processing' AND queue = \(queue.name)
                            """).first?.decode(Int.self) ?? 0
                        room = min(room, cap - running)
                    }
                    if room <= 0 { empty.insert(queue.name); continue }
                }
                let jobs = try claimFromQueue(session, s, queue: queue.name, workerID: workerID, host: start.host,
                                              limit: room, takesTurn: start.order.count > 1, config: start.config, now: now)
                // Fewer than asked: nothing more is due there (other claims hold the rest).
                if jobs.count < room { empty.insert(queue.name) }
                if jobs.isEmpty { continue }
                claimed += jobs
                progress = true
                if start.order.count > 1 { start.order.append(start.order.remove(at: index)) }
                break
            }
            if !progress { break }
        }
        return claimed
    }

    /// One statement: takes up to `limit` due jobs of `queue` in claim order
    /// (priority, then `run_at`, then FIFO), skipping rows other claims hold,
    /// counts their attempts, opens their runs (run ids in claim order, so a
    /// worker's "started through run N" splits started from unstarted), and, when
    /// queues take turns, moves `queue` to the back.
    private static func claimFromQueue(_ session: PostgresSession, _ s: String, queue: String, workerID: String, host: String,
                                       limit: Int, takesTurn: Bool, config: QueueConfig, now: Timestamp) throws -> [ClaimedJob] {
        let now = now.milliseconds
        // The queue goes to the back of the turns only when there are turns to take.
        let turn = takesTurn ? """
            , turn AS (
                UPDATE \(s).queues SET served = (SELECT max(served) FROM \(s).queues) + 1
                WHERE name = (SELECT queue FROM claimed LIMIT 1)
            )
            """ : ""
        let rows = try session.query("""
            WITH picked AS MATERIALIZED (
                -- Materialized: evaluated once, so LIMIT holds (a subquery in the
                -- UPDATE's FROM may be scanned again per row, each scan taking more).
                SELECT seq FROM \(unescaped: s).jobs
                WHERE state = 'pending' AND queue = \(queue) AND run_at <= \(now)
                  AND NOT EXISTS (SELECT 1 FROM \(unescaped: s).queues q WHERE q.name = \(queue) AND q.paused)
                ORDER BY priority DESC, run_at, seq LIMIT \(limit) FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE \(unescaped: s).jobs SET state = 'processing', attempts = attempts + 1, worker_id = \(workerID), updated_at = \(now)
                WHERE seq IN (SELECT seq FROM picked) AND state = 'pending'
                RETURNING seq, \(unescaped: Job.postgresColumns)
            ), opened AS (
                INSERT INTO \(unescaped: s).runs (job_id, attempt, worker_id, host, queued_at, started_at)
                SELECT id, attempts, worker_id, \(host), run_at, \(now) FROM claimed ORDER BY priority DESC, run_at, seq
                RETURNING id AS run_id, job_id
            )\(unescaped: turn)
            SELECT \(unescaped: Job.postgresColumns), run_id FROM claimed JOIN opened ON opened.job_id = claimed.id
            ORDER BY run_id
            """)
        return try rows.map { row in
            ClaimedJob(job: try Job(postgresRow: row), runID: try row.makeRandomAccess()[20].decode(Int64.self), config: config)
        }
    }
}
