import QueueCore
import GRDB

extension SQLiteJobStore {
    /// Migration "v6-schedules": recurring jobs (see `Schedule`).
    static func migrateToSchedules(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE schedules (
                name           TEXT PRIMARY KEY,
                cron           TEXT,                -- a cron expression, or NULL for an interval
                time_zone      TEXT,
                every_seconds  REAL,
                job            TEXT NOT NULL,       -- the job as JSON
                paused         INTEGER NOT NULL DEFAULT 0,
                next_at        INTEGER NOT NULL,    -- ms since epoch
                last_fired_at  INTEGER,
                catch_up_all   INTEGER NOT NULL DEFAULT 0   -- fire every missed tick, not one
            ) WITHOUT ROWID;
            -- What each claim transaction reads: the open schedules by next tick.
            CREATE INDEX schedules_due ON schedules(next_at) WHERE paused = 0;
            """)
    }

    private static let scheduleColumns = "name, cron, time_zone, every_seconds, job, paused, next_at, last_fired_at, catch_up_all"

    private static func schedule(_ row: Row) -> Schedule {
        let cron: String? = row[1]
        let rule: Schedule.Rule = cron.map { .cron($0, timeZone: row[2] ?? "UTC") } ?? .every(seconds: row[3] ?? 60)
        let fired: Int64? = row[7]
        return Schedule(name: row[0], rule: rule, job: row[4], paused: row[5], nextAt: Timestamp(milliseconds: row[6]),
                        lastFiredAt: fired.map(Timestamp.init(milliseconds:)), catchUpAll: row[8])
    }

    /// Adds a schedule; its first tick is the first after `now`. A name in use is an error.
    @discardableResult
    public func addSchedule(name: String, rule: Schedule.Rule, job: String, now: Timestamp) throws -> Schedule {
        try addSchedule(name: name, rule: rule, job: job, catchUpAll: false, now: now)
    }

    /// `catchUpAll`: after a time without workers, fire every missed tick (up to
    /// `Schedule.catchUpLimit`) instead of one.
    @discardableResult
    public func addSchedule(name: String, rule: Schedule.Rule, job: String, catchUpAll: Bool, now: Timestamp) throws -> Schedule {
        let first = try Schedule.validate(name: name, rule: rule, job: job, now: now)
        var cron: String?, zone: String?, every: Double?
        switch rule {
        case let .cron(expression, timeZone): cron = expression; zone = timeZone
        case let .every(seconds): every = seconds
        }
        defer { Doorbell.ring(location) }   // idle workers learn the new wake-up time
        return try write { db in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM schedules WHERE name = ?)", arguments: [name]) == true {
                throw QueueError.invalidInput("a schedule named '\(name)' exists; remove it first")
            }
            try db.execute(sql: """
                INSERT INTO schedules (name, cron, time_zone, every_seconds, job, next_at, catch_up_all) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [name, cron, zone, every, job, first.milliseconds, catchUpAll])
            return Schedule(name: name, rule: rule, job: job, nextAt: first, catchUpAll: catchUpAll)
        }
    }

    public func schedules() throws -> [Schedule] {
        try read { db in try Row.fetchAll(db, sql: "SELECT \(Self.scheduleColumns) FROM schedules ORDER BY name").map(Self.schedule) }
    }

    public func removeSchedule(name: String) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM schedules WHERE name = ?", arguments: [name])
            guard db.changesCount == 1 else { throw QueueError.notFound("no schedule named '\(name)'") }
        }
    }

    /// Pauses or resumes a schedule. A resumed schedule's next tick is the first
    /// after `now`: ticks while it was paused do not fire.
    public func setSchedulePaused(name: String, _ paused: Bool, now: Timestamp) throws -> Schedule {
        defer { if !paused { Doorbell.ring(location) } }
        return try write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.scheduleColumns) FROM schedules WHERE name = ?", arguments: [name]) else {
                throw QueueError.notFound("no schedule named '\(name)'")
            }
            var schedule = Self.schedule(row)
            if !paused, schedule.paused, let next = try Schedule.tick(schedule.rule, after: now, previous: schedule.nextAt) {
                schedule.nextAt = next
            }
            schedule.paused = paused
            try db.execute(sql: "UPDATE schedules SET paused = ?, next_at = ? WHERE name = ?",
                           arguments: [paused, schedule.nextAt.milliseconds, name])
            return schedule
        }
    }

    /// Enqueues the job of every open schedule whose tick has come, once, and moves
    /// it to its next tick after `now` (see `Schedule`). Part of each claim
    /// transaction: one seek into `schedules_due` when none is due.
    static func fireDueSchedules(_ db: Database, now: Timestamp) throws {
        var due: [String] = []
        try BoundStatement(db, sql: """
            SELECT name FROM schedules INDEXED BY schedules_due WHERE paused = 0 AND next_at <= ?
            """).run([.int(now.milliseconds)]) { due.append($0.text(0)) }
        guard !due.isEmpty else { return }
        let config = try loadConfig(db)
        for name in due {
            guard let row = try Row.fetchOne(db, sql: "SELECT \(scheduleColumns) FROM schedules WHERE name = ?", arguments: [name]) else { continue }
            let schedule = Self.schedule(row)
            let tick = schedule.nextAt
            // The due tick, and with catch-up "all" every later one up to now.
            var ticks = [tick]
            while schedule.catchUpAll, ticks.count < Schedule.catchUpLimit,
                  let later = (try? Schedule.tick(schedule.rule, after: ticks[ticks.count - 1], previous: ticks[ticks.count - 1])) ?? nil,
                  later <= now {
                ticks.append(later)
            }
            if let template = try? Schedule.spec(schedule.job) {
                for tick in ticks {
                    var spec = template
                    spec.id = schedule.jobID(tick: tick)
                    spec.options.schedule = schedule.name
                    // A job with this id exists only if someone enqueued it by hand: the tick is done.
                    if try Int.fetchOne(db, sql: "SELECT 1 FROM jobs WHERE id = ?", arguments: [spec.id]) == nil {
                        _ = try insertJobs(db, [spec], config: config, now: now)
                    }
                }
            }
            // Missed ticks collapse into this one: the next tick is the first after now.
            let next = (try? Schedule.tick(schedule.rule, after: now, previous: tick)) ?? nil
            try db.execute(sql: "UPDATE schedules SET next_at = ?, last_fired_at = ?, paused = ? WHERE name = ?",
                           arguments: [(next ?? Timestamp.distantFuture).milliseconds, now.milliseconds, next == nil, name])
        }
    }

    /// The next tick among open schedules (part of an idle worker's wake-up time).
    static func nextScheduleTick(_ db: Database) throws -> Timestamp? {
        try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT next_at FROM schedules INDEXED BY schedules_due WHERE paused = 0 ORDER BY next_at LIMIT 1
            """)).map(Timestamp.init(milliseconds:))
    }
}

extension SQLiteJobStore {
    /// Jobs of one state (or all) in one queue and/or fired by one schedule, oldest
    /// first. A schedule's jobs are found by their `NAME@TICK` ids through the id
    /// index, in tick order.
    public func jobs(state: JobState?, queue: String?, schedule: String?, limit: Int, offset: Int = 0) throws -> [Job] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let state { conditions.append(state.selectionCondition()) }
        if let queue {
            conditions.append("queue = ?")
            _ = arguments.append(contentsOf: [queue])
        }
        if let schedule {
            // Ids are printable ASCII, all below DEL.
            conditions.append("id >= ? AND id < ?")
            _ = arguments.append(contentsOf: [schedule + "@", schedule + "@\u{7F}"])
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        _ = arguments.append(contentsOf: [limit, offset])
        return try read { db in
            try Row.fetchAll(db, sql: "SELECT \(Job.columns) FROM jobs \(whereClause) ORDER BY \(schedule == nil ? "seq" : "id") LIMIT ? OFFSET ?",
                             arguments: arguments).map(Job.init(row:))
        }
    }
}
