import PostgresNIO
import QueueCore

/// Named queues: their limits, pauses and summaries (see `QueueSummary`). A
/// queue's row in `queues` is what the claim locks to apply a limit, so changing
/// it waits at most for the claims in progress.
extension PostgresJobStore {
    /// Every known queue with its counts (summed from the sharded `job_counts`),
    /// limit, pause and latency, by name (byte order, as SQLite sorts).
    public func queues() throws -> [QueueSummary] {
        try session.transaction {
            var counts: [String: [JobState: Int]] = [:]
            for row in try session.query("SELECT queue, state, sum(n)::bigint FROM job_counts GROUP BY queue, state") {
                let (queue, state, n) = try row.decode((String, String, Int64).self)
                if let state = JobState(rawValue: state) { counts[queue, default: [:]][state] = Int(n) }
            }
            return try session.query("SELECT name, concurrency, paused FROM queues ORDER BY name COLLATE \"C\"").map { row in
                let (name, concurrency, paused) = try row.decode((String, Int?, Bool).self)
                let oldest = try session.query(Self.oldestDue(queue: name)).first?.decode(Int64?.self)
                return QueueSummary(name: name, counts: JobCounts(counts: counts[name] ?? [:]), concurrency: concurrency,
                                    paused: paused, oldestWaitingSince: oldest.map(Timestamp.init(milliseconds:)))
            }
        }
    }

    /// The earliest `run_at` among a queue's due jobs, one seek per priority in use
    /// (the first entry of each priority in `jobs_ready` has its earliest `run_at`),
    /// so `queue list` and the console stay quick with a million jobs waiting.
    private static func oldestDue(queue: String) -> PostgresQuery {
        """
        WITH RECURSIVE p(priority) AS (
            SELECT max(priority) FROM jobs WHERE state = 'pending' AND queue = \(queue)
            UNION ALL
            SELECT (SELECT max(priority) FROM jobs WHERE state = 'pending' AND queue = \(queue) AND priority < p.priority)
            FROM p WHERE p.priority IS NOT NULL)
        SELECT min((SELECT min(run_at) FROM jobs WHERE state = 'pending' AND queue = \(queue) AND priority = p.priority))
        FROM p WHERE p.priority IS NOT NULL
        """
    }

    /// Caps how many jobs of `queue` run at once across all workers (nil or 0:
    /// no cap). A cap (0 included) creates the queue if it is new; removing one (nil)
    /// needs a known queue (else "not found"). Idle workers are woken: a higher cap
    /// may let them start jobs.
    public func setConcurrency(queue: String, _ limit: Int?) throws {
        try QueueName.validate(queue)
        try session.transaction {
            if limit == nil { try requireQueue(queue) } else { try registerQueue(queue) }
            let cap = limit.flatMap { $0 > 0 ? $0 : nil }
            try session.execute("UPDATE queues SET concurrency = \(cap) WHERE name = \(queue)")
            try wake()
        }
    }

    /// Pauses or resumes `names` (nil: every known queue); returns the queues
    /// changed. A paused queue starts no new job (the claim checks it); unknown
    /// names are created paused, so a queue can be paused before its first job.
    /// Resuming an unknown name is "not found", and nothing is changed. Resuming
    /// wakes idle workers.
    @discardableResult
    public func setPaused(_ paused: Bool, queues names: [String]?) throws -> [String] {
        try names?.forEach(QueueName.validate)
        return try session.transaction {
            let changed: [String]
            if let names {
                for name in names { try paused ? registerQueue(name) : requireQueue(name) }
                try session.execute("UPDATE queues SET paused = \(paused) WHERE name = ANY(\(names))")
                changed = names
            } else {
                try session.execute("UPDATE queues SET paused = \(paused)")
                changed = try session.query("SELECT name FROM queues ORDER BY name COLLATE \"C\"").map { try $0.decode(String.self) }
            }
            if !paused { try wake() }
            return changed
        }
    }

    /// Jobs of these queues held by workers (claimed, maybe not started yet).
    public func processingCount(queues names: [String]) throws -> Int {
        guard !names.isEmpty else { return 0 }
        return try session.query("""
            SELECT count(*) FROM jobs WHERE state = 'processing' AND state <> 'completed' AND queue = ANY(\(names))
            """).first?.decode(Int.self) ?? 0
    }

    /// Makes a queue known (its row holds its limit, pause and turn).
    private func registerQueue(_ name: String) throws {
        try session.execute("INSERT INTO queues (name) VALUES (\(name)) ON CONFLICT (name) DO NOTHING")
    }

    /// Throws "not found" for a queue nobody named yet: undoing a pause or a cap of a
    /// mistyped name must say so, not create a queue and leave the real one as it was.
    private func requireQueue(_ name: String) throws {
        guard try session.query("SELECT 1 FROM queues WHERE name = \(name)").first != nil else {
            throw QueueError.notFound("no queue named '\(name)'")
        }
    }
}
