import PostgresNIO
import QueueCore

/// Schedules fire in claim transactions, as on SQLite (see `Schedule`): each due
/// schedule enqueues its tick's job once and moves to its next tick.
extension PostgresJobStore {
    /// Enqueues the job of every open schedule whose tick has come and moves it to
    /// its next tick after `now`. The schedule rows are taken `FOR UPDATE SKIP
    /// LOCKED`: a schedule another host's claim is firing is left to it, and the
    /// job id `NAME@TICK` makes a tick fire once even across transactions.
    func fireDueSchedules(_ s: String, config: QueueConfig, now: Timestamp) throws {
        let due = try session.query("""
            SELECT name, cron, time_zone, every_seconds, job, next_at, catch_up_all FROM \(unescaped: s).schedules
            WHERE NOT paused AND next_at <= \(now.milliseconds) ORDER BY name FOR UPDATE SKIP LOCKED
            """)
        for row in due {
            let columns = row.makeRandomAccess()
            let cron = try columns[1].decode(String?.self)
            let rule: Schedule.Rule = try cron.map { .cron($0, timeZone: try columns[2].decode(String?.self) ?? "UTC") }
                ?? .every(seconds: try columns[3].decode(Double?.self) ?? 60)
            let schedule = Schedule(name: try columns[0].decode(String.self), rule: rule, job: try columns[4].decode(String.self),
                                    nextAt: Timestamp(milliseconds: try columns[5].decode(Int64.self)),
                                    catchUpAll: try columns[6].decode(Bool.self))
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
                    let exists = try session.query("SELECT 1 FROM \(unescaped: s).jobs WHERE id = \(spec.id)").first != nil
                    if !exists { _ = try insertJobs([spec], config: config, now: now, numbering: (first: 0, total: 1)) }
                }
            }
            // Missed ticks collapse into this one: the next tick is the first after now.
            let next = (try? Schedule.tick(schedule.rule, after: now, previous: tick)) ?? nil
            try session.execute("""
                UPDATE \(unescaped: s).schedules SET next_at = \((next ?? Timestamp.distantFuture).milliseconds),
                    last_fired_at = \(now.milliseconds), paused = \(next == nil)
                WHERE name = \(schedule.name)
                """)
        }
    }
}
