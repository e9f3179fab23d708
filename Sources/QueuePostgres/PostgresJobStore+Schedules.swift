import PostgresNIO
import QueueCore

/// Recurring jobs (see `Schedule`): adding, removing, pausing and listing them.
/// Workers fire them in their claim transactions.
extension PostgresJobStore {
    static let scheduleColumns = "name, cron, time_zone, every_seconds, job, paused, next_at, last_fired_at, catch_up_all"

    /// A row of ``scheduleColumns`` as a `Schedule`.
    static func schedule(from row: PostgresRow) throws -> Schedule {
        let cells = row.makeRandomAccess()
        let rule: Schedule.Rule
        if let cron = try cells[1].decode(String?.self) {
            rule = .cron(cron, timeZone: try cells[2].decode(String?.self) ?? "UTC")
        } else {
            rule = .every(seconds: try cells[3].decode(Double?.self) ?? 60)
        }
        return Schedule(name: try cells[0].decode(String.self), rule: rule, job: try cells[4].decode(String.self),
                        paused: try cells[5].decode(Bool.self), nextAt: Timestamp(milliseconds: try cells[6].decode(Int64.self)),
                        lastFiredAt: try cells[7].decode(Int64?.self).map(Timestamp.init(milliseconds:)),
                        catchUpAll: try cells[8].decode(Bool.self))
    }

    /// Adds a schedule; its first tick is the first after `now`. A name in use is an
    /// error (also when another host adds the same name at the same moment).
    /// `catchUpAll`: after a time without workers, fire every missed tick (up to
    /// `Schedule.catchUpLimit`) instead of one. Idle workers are woken to learn
    /// the new wake-up time.
    @discardableResult
    public func addSchedule(name: String, rule: Schedule.Rule, job: String, catchUpAll: Bool, now: Timestamp) throws -> Schedule {
        let first = try Schedule.validate(name: name, rule: rule, job: job, now: now)
        var cron: String?, zone: String?, every: Double?
        switch rule {
        case let .cron(expression, timeZone): cron = expression; zone = timeZone
        case let .every(seconds): every = seconds
        }
        return try session.transaction {
            let added = try session.query("""
                INSERT INTO schedules (name, cron, time_zone, every_seconds, job, next_at, catch_up_all)
                VALUES (\(name), \(cron), \(zone), \(every), \(job), \(first.milliseconds), \(catchUpAll))
                ON CONFLICT (name) DO NOTHING RETURNING name
                """)
            guard !added.isEmpty else { throw QueueError.invalidInput("a schedule named '\(name)' exists; remove it first") }
            try wake()
            return Schedule(name: name, rule: rule, job: job, nextAt: first, catchUpAll: catchUpAll)
        }
    }

    public func removeSchedule(name: String) throws {
        guard try session.execute("DELETE FROM schedules WHERE name = \(name)") == 1 else {
            throw QueueError.notFound("no schedule named '\(name)'")
        }
    }

    /// Pauses or resumes a schedule. A resumed schedule's next tick is the first
    /// after `now`: ticks while it was paused do not fire.
    public func setSchedulePaused(name: String, _ paused: Bool, now: Timestamp) throws -> Schedule {
        try session.transaction {
            guard let row = try session.query("""
                SELECT \(unescaped: Self.scheduleColumns) FROM schedules WHERE name = \(name) FOR UPDATE
                """).first else {
                throw QueueError.notFound("no schedule named '\(name)'")
            }
            var schedule = try Self.schedule(from: row)
            if !paused, schedule.paused, let next = try Schedule.tick(schedule.rule, after: now, previous: schedule.nextAt) {
                schedule.nextAt = next
            }
            schedule.paused = paused
            try session.execute("""
                UPDATE schedules SET paused = \(paused), next_at = \(schedule.nextAt.milliseconds) WHERE name = \(name)
                """)
            if !paused { try wake() }
            return schedule
        }
    }

    /// Every schedule, by name (byte order, as SQLite sorts).
    public func schedules() throws -> [Schedule] {
        try session.query("SELECT \(unescaped: Self.scheduleColumns) FROM schedules ORDER BY name COLLATE \"C\"")
            .map(Self.schedule(from:))
    }
}
