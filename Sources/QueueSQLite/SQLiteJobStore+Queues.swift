import QueueCore
import GRDB

extension SQLiteJobStore {
    /// Migration "v5-named-queues": a `queue` per job, the claim's index by queue,
    /// a row per queue (limit, pause, turn) and the counts per queue and state.
    ///
    /// The counts move from `job_counts` to `queue_counts` (kept by the same
    /// triggers, one row per queue and state instead of one per state), and
    /// `job_counts` becomes a view of their sums: claims and results still update
    /// one count row each way, so per-queue counts cost the hot path nothing.
    /// Inserting into the view (as a migration adding a state does) adds the row
    /// for the default queue; the triggers create missing rows themselves.
    static func migrateToNamedQueues(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE jobs ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
            DROP INDEX jobs_ready;
            CREATE INDEX jobs_ready ON jobs(queue, priority DESC, run_at, seq) WHERE state = 'pending';

            CREATE TABLE queues (
                name         TEXT PRIMARY KEY,
                concurrency  INTEGER,                    -- most jobs processing at once; NULL: no limit
                paused       INTEGER NOT NULL DEFAULT 0,
                served       INTEGER NOT NULL DEFAULT 0  -- turn of its last claim: the lowest goes next
            ) WITHOUT ROWID;
            INSERT INTO queues(name) VALUES ('default');

            CREATE TABLE queue_counts (
                queue  TEXT NOT NULL,
                state  TEXT NOT NULL,
                n      INTEGER NOT NULL,
                PRIMARY KEY (queue, state)
            ) WITHOUT ROWID;
            INSERT INTO queue_counts(queue, state, n) SELECT 'default', state, n FROM job_counts;
            DROP TRIGGER jobs_count_delete;
            DROP TRIGGER jobs_count_update;
            DROP TABLE job_counts;
            CREATE VIEW job_counts(state, n) AS SELECT state, sum(n) FROM queue_counts GROUP BY state;
            CREATE TRIGGER job_counts_insert INSTEAD OF INSERT ON job_counts BEGIN
                INSERT INTO queue_counts(queue, state, n) VALUES ('default', NEW.state, NEW.n)
                ON CONFLICT(queue, state) DO NOTHING;
            END;
            CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN
                UPDATE queue_counts SET n = n - 1 WHERE queue = OLD.queue AND state = OLD.state;
            END;
            CREATE TRIGGER jobs_count_update AFTER UPDATE OF state ON jobs WHEN OLD.state <> NEW.state BEGIN
                UPDATE queue_counts SET n = n - 1 WHERE queue = OLD.queue AND state = OLD.state;
                INSERT INTO queue_counts(queue, state, n) VALUES (NEW.queue, NEW.state, 1)
                ON CONFLICT(queue, state) DO UPDATE SET n = n + 1;
            END;
            """)
    }

    /// Adds `n` jobs to the count of `queue` in `state` (enqueue adds once per batch:
    /// a trigger would run once per row).
    static func addToCount(_ db: Database, queue: String, state: JobState, _ n: Int) throws {
        guard n != 0 else { return }
        try db.cachedStatement(sql: """
            INSERT INTO queue_counts(queue, state, n) VALUES (?, ?, ?) ON CONFLICT(queue, state) DO UPDATE SET n = n + excluded.n
            """).execute(arguments: [queue, state.rawValue, n])
    }

    /// Makes a queue known (its row holds its limit, pause and turn).
    static func registerQueue(_ db: Database, _ name: String) throws {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO queues(name) VALUES (?)").execute(arguments: [name])
    }

    /// Throws "not found" for a queue nobody named yet: undoing a pause or a cap of a
    /// mistyped name must say so, not create a queue and leave the real one as it was.
    static func requireQueue(_ db: Database, _ name: String) throws {
        guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM queues WHERE name = ?)", arguments: [name]) == true else {
            throw QueueError.notFound("no queue named '\(name)'")
        }
    }
}

/// The queues one claim transaction may take jobs from, in turn order.
///
/// The rule across queues: a worker takes the queues it serves in turns shared by
/// all workers. Each claim goes to the open queue (not paused, under its limit)
/// with a due job that was served least recently; within a queue, the job rule of
/// `JobState` applies (priority, then `run_at`, then FIFO). Priorities therefore
/// order jobs within a queue, never across queues: a busy queue of high-priority
/// jobs cannot starve another queue.
struct QueueTurns {
    struct Entry {
        var name: String
        var concurrency: Int?
    }
    /// Open queues, least recently served first.
    private(set) var order: [Entry]
    /// Whether any queue (served or not, open or not) has a limit: results then
    /// wake idle workers, since a finished job frees a place.
    private(set) var anyLimit = false

    /// Reads the open queues among `serving` (nil: every queue).
    init(_ db: Database, serving: [String]?) throws {
        var entries: [Entry] = []
        var anyLimit = false
        try BoundStatement(db, sql: "SELECT name, concurrency, paused FROM queues ORDER BY served, name").run([]) { row in
            let name = row.text(0), concurrency = row.optionalInt(1)
            if concurrency != nil { anyLimit = true }
            if row.int(2) == 0, serving == nil || serving!.contains(name) { entries.append(Entry(name: name, concurrency: concurrency)) }
        }
        order = entries
        self.anyLimit = anyLimit
    }

    /// Records that `name` was served: it goes to the back of the turns, here and
    /// in the table (only when there is someone to take turns with, so a single
    /// queue's claims write nothing more).
    mutating func served(_ name: String, _ db: Database) throws {
        guard order.count > 1, let index = order.firstIndex(where: { $0.name == name }) else { return }
        order.append(order.remove(at: index))
        try BoundStatement(db, sql: "UPDATE queues SET served = (SELECT max(served) FROM queues) + 1 WHERE name = ?").run([.text(name)])
    }
}

extension SQLiteJobStore {
    /// Jobs of `queue` held by workers now, counted in the claim's transaction
    /// (SQLite has one writer, so the count is exact). Reads the few processing
    /// jobs through `jobs_state`.
    static func processingCount(_ db: Database, queue: String) throws -> Int {
        var count = 0
        try BoundStatement(db, sql: """
            SELECT count(*) FROM jobs WHERE \(JobState.processing.selectionCondition()) AND queue = ?
            """).run([.text(queue)]) { count = $0.int(0) }
        return count
    }

    /// Every known queue with its counts, limit, pause and latency, by name.
    public func queues() throws -> [QueueSummary] {
        try read { db in
            var counts: [String: [JobState: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT queue, state, n FROM queue_counts") {
                if let state = JobState(rawValue: row[1]) { counts[row[0], default: [:]][state] = row[2] }
            }
            var result: [QueueSummary] = []
            for row in try Row.fetchAll(db, sql: "SELECT name, concurrency, paused FROM queues ORDER BY name") {
                let name: String = row[0]
                let oldest = try Int64.fetchOne(db, sql: Self.oldestDueSQL, arguments: [name])
                result.append(QueueSummary(name: name, counts: JobCounts(counts: counts[name] ?? [:]), concurrency: row[1],
                                           paused: row[2], oldestWaitingSince: oldest.map(Timestamp.init(milliseconds:))))
            }
            return result
        }
    }

    /// The earliest `run_at` among a queue's due jobs, one seek per priority in use
    /// (the first entry of each priority in `jobs_ready` has its earliest `run_at`),
    /// so `queue list` and the console stay quick with a million jobs waiting.
    static let oldestDueSQL = """
        WITH RECURSIVE p(priority) AS (
            SELECT max(priority) FROM jobs INDEXED BY jobs_ready WHERE state = 'pending' AND queue = ?1
            UNION ALL
            SELECT (SELECT max(priority) FROM jobs INDEXED BY jobs_ready
                    WHERE state = 'pending' AND queue = ?1 AND priority < p.priority)
            FROM p WHERE p.priority IS NOT NULL)
        SELECT min((SELECT min(run_at) FROM jobs INDEXED BY jobs_ready
                    WHERE state = 'pending' AND queue = ?1 AND priority = p.priority))
        FROM p WHERE p.priority IS NOT NULL
        """

    /// Caps how many jobs of `queue` run at once across all workers (nil or 0:
    /// no cap). A cap (0 included) creates the queue if it is new; removing one (nil)
    /// needs a known queue (else "not found"). Idle workers are woken: a higher cap
    /// may let them start jobs.
    public func setConcurrency(queue: String, _ limit: Int?) throws {
        try QueueName.validate(queue)
        defer { Doorbell.ring(location) }
        try write { db in
            if limit == nil { try Self.requireQueue(db, queue) } else { try Self.registerQueue(db, queue) }
            try db.execute(sql: "UPDATE queues SET concurrency = ? WHERE name = ?",
                           arguments: [limit.flatMap { $0 > 0 ? $0 : nil }, queue])
        }
    }

    /// Pauses or resumes `names` (nil: every known queue); returns the queues
    /// changed. A paused queue starts no new job (the claim checks it); unknown
    /// names are created paused, so a queue can be paused before its first job.
    /// Resuming an unknown name is "not found", and nothing is changed. Resuming
    /// wakes idle workers at once.
    @discardableResult
    public func setPaused(_ paused: Bool, queues names: [String]?) throws -> [String] {
        try names?.forEach(QueueName.validate)
        defer { if !paused { Doorbell.ring(location) } }
        return try write { db in
            if let names {
                for name in names { try paused ? Self.registerQueue(db, name) : Self.requireQueue(db, name) }
                for name in names {
                    try db.execute(sql: "UPDATE queues SET paused = ? WHERE name = ?", arguments: [paused, name])
                }
                return names
            }
            try db.execute(sql: "UPDATE queues SET paused = ?", arguments: [paused])
            return try String.fetchAll(db, sql: "SELECT name FROM queues ORDER BY name")
        }
    }

    /// Jobs of these queues held by workers (claimed, maybe not started yet).
    public func processingCount(queues names: [String]) throws -> Int {
        try read { db in try names.reduce(0) { $0 + (try Self.processingCount(db, queue: $1)) } }
    }
}

extension SQLiteJobStore {
    /// Whether any queue has a concurrency limit (then a finished job frees a place
    /// another worker may take).
    static func anyQueueHasALimit(_ db: Database) throws -> Bool {
        var any = false
        try BoundStatement(db, sql: "SELECT EXISTS (SELECT 1 FROM queues WHERE concurrency IS NOT NULL)").run([]) { any = $0.int(0) != 0 }
        return any
    }
}
