import PostgresNIO
import QueueCore

/// Schedules fire in claim transactions, as on SQLite (see `Schedule`): each due
/// schedule enqueues its tick's job once and moves to its next tick.
extension PostgresJobStore {
    /// Enqueues the job of every open schedule whose tick has come and moves it to
    /// its next tick after `now`. The schedule rows are taken `FOR UPDATE SKIP
    /// LOCKED`: a schedule another host's claim is firing is left to it, and the
    /// job id `NAME@TICK` makes a tick fire once even across transactions.
    static func fireDueSchedules(_ session: PostgresSession, _ s: String, config: QueueConfig, now: Timestamp) throws {
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
                    try insertFiredJob(session, s, spec, config: config, now: now)
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

    /// Inserts a schedule's job unless its id exists (then someone enqueued the
    /// tick by hand: it is done) or its unique key is held by a job that is not
    /// final. Dependencies are applied as enqueue applies them (`DependencyStart`).
    private static func insertFiredJob(_ session: PostgresSession, _ s: String, _ spec: JobSpec, config: QueueConfig,
                                       now: Timestamp) throws {
        let runAt = spec.eligibleAt(now: now)
        var state: JobState = runAt > now ? .scheduled : .pending
        var lastError: String?
        if !spec.dependsOn.isEmpty {
            var dependencies: [(id: String, state: JobState)] = []
            for row in try session.query("SELECT id, state FROM \(unescaped: s).jobs WHERE id = ANY(\(spec.dependsOn))") {
                let (id, text) = try row.decode((String, String).self)
                if let dependencyState = JobState(rawValue: text) { dependencies.append((id, dependencyState)) }
            }
            // A dependency that does not exist leaves the tick unfired, as enqueue refuses it.
            guard dependencies.count == Set(spec.dependsOn).count else { return }
            dependencies.sort { spec.dependsOn.firstIndex(of: $0.id)! < spec.dependsOn.firstIndex(of: $1.id)! }
            switch DependencyStart(dependencies: dependencies) {
            case .ready: break
            case .blocked: state = .blocked
            case let .doomed(dependency, dependencyState):
                state = .cancelled
                lastError = Cancellation.dependencyReason(dependency: dependency, state: dependencyState)
            }
        }
        let id = spec.id ?? JobID.generate(at: now)
        let inserted = try session.execute("""
            INSERT INTO \(unescaped: s).jobs (id, command, state, attempts, max_retries, priority, run_at, timeout, created_at,
                updated_at, queue, last_error, options, tags, unique_key, depends_on, requeued_from)
            VALUES (\(id), \(spec.command), \(state.rawValue), 0, \(spec.maxRetries ?? config.maxRetries), \(spec.priority),
                \(runAt.milliseconds), \(spec.timeout), \(now.milliseconds), \(now.milliseconds), \(spec.queue), \(lastError),
                \(spec.options.storedText), \(spec.tags.isEmpty ? nil : spec.tags), \(spec.uniqueKey),
                \(spec.dependsOn.isEmpty ? nil : spec.dependsOn), \(spec.requeuedFrom))
            ON CONFLICT DO NOTHING
            """)
        guard inserted > 0 else { return }
        try session.execute("INSERT INTO \(unescaped: s).queues (name) VALUES (\(spec.queue)) ON CONFLICT DO NOTHING")
        if !spec.dependsOn.isEmpty {
            try session.execute("""
                INSERT INTO \(unescaped: s).job_dependencies (depends_on, job_id)
                SELECT DISTINCT d, \(id) FROM unnest(\(spec.dependsOn)::text[]) AS d ON CONFLICT DO NOTHING
                """)
        }
        if state == .cancelled { try LeaseSQL.recordEvent(session, s, "cancelled", jobID: id, detail: lastError, now: now) }
    }
}
