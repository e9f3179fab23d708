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
    static func beginClaims(_ session: PostgresSession, workerID: String, serving: [String]?,
                            now: Timestamp) throws -> ClaimStart {
        guard let row = try session.prepared(PreparedStatement<ClaimStartSQL>([now.milliseconds, workerID])).first
        else { return ClaimStart(refused: .workerReleased) }
        let columns = row.makeRandomAccess()
        var start = ClaimStart()
        start.config = Self.config(keys: try columns[2].decode([String].self), values: try columns[3].decode([Double].self))
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
                let jobs = try claimFromQueue(session, queue: queue.name, workerID: workerID, host: start.host,
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
    private static func claimFromQueue(_ session: PostgresSession, queue: String, workerID: String, host: String,
                                       limit: Int, takesTurn: Bool, config: QueueConfig, now: Timestamp) throws -> [ClaimedJob] {
        let values: [any PostgresEncodable] = [queue, now.milliseconds, limit, workerID, host]
        let rows = takesTurn ? try session.prepared(PreparedStatement<ClaimTakingTurnSQL>(values))
                             : try session.prepared(PreparedStatement<ClaimSQL>(values))
        return try rows.map { row in
            ClaimedJob(job: try Job(postgresRow: row), runID: try row.makeRandomAccess()[20].decode(Int64.self), config: config)
        }
    }
}
