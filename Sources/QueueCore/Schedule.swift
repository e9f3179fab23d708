import Foundation

/// A recurring job: a cron expression in a time zone, or a fixed interval, and
/// the job to enqueue at each tick.
///
/// Running workers fire schedules (there is no separate daemon): each claim
/// transaction enqueues the job of every schedule whose tick has come, with the
/// id `NAME@TICK` (the tick's ISO-8601 time), and moves the schedule to its next
/// tick after now. One writer at a time and the unique id make each tick fire
/// exactly once however many workers run; ticks missed while no worker ran fire
/// once, as the tick that was due (or each of them, up to `catchUpLimit`, with
/// `catchUpAll`).
public struct Schedule: Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        /// A cron expression evaluated in a time zone (an IANA name).
        case cron(String, timeZone: String)
        /// Every so many seconds from the time the schedule was added.
        case every(seconds: Double)
    }

    public var name: String
    public var rule: Rule
    /// The job as JSON, as `enqueue` takes it (without `id`, `run_at` or `delay`).
    public var job: String
    public var paused: Bool
    /// The next tick (for a paused schedule, the one it had when paused).
    public var nextAt: Timestamp
    public var lastFiredAt: Timestamp?
    /// Fire every missed tick on catch-up (at most ``catchUpLimit``), not just one.
    public var catchUpAll: Bool

    /// Most missed ticks one catch-up fires with `catchUpAll`.
    public static let catchUpLimit = 1000

    public init(name: String, rule: Rule, job: String, paused: Bool = false, nextAt: Timestamp, lastFiredAt: Timestamp? = nil,
                catchUpAll: Bool = false) {
        self.name = name
        self.rule = rule
        self.job = job
        self.paused = paused
        self.nextAt = nextAt
        self.lastFiredAt = lastFiredAt
        self.catchUpAll = catchUpAll
    }

    /// Checks a new schedule's parts; returns the first tick after `now`.
    public static func validate(name: String, rule: Rule, job: String, now: Timestamp) throws -> Timestamp {
        try JobID.validate(name, field: "schedule")
        guard name.utf8.count <= 64, !name.contains("@") else {
            throw QueueError.invalidInput("a schedule name has at most 64 bytes and no @: \(name.debugDescription)")
        }
        _ = try spec(job)
        guard let first = try tick(rule, after: now, previous: now) else {
            throw QueueError.invalidInput("the schedule never fires")
        }
        return first
    }

    /// The job to enqueue, checked: a schedule's jobs take their id and time from the tick.
    public static func spec(_ job: String) throws -> JobSpec {
        let value = try JSONValue.parse(job)
        if case let .object(members) = value {
            for key in ["id", "run_at", "delay"] where members.contains(where: { $0.0 == key }) {
                throw QueueError.invalidInput("a schedule's job has no \"\(key)\": each tick's job gets its id and time from the tick")
            }
        }
        return try JobSpec(json: value)
    }

    /// The id of the job fired for `tick`: the tick is the job's unique key.
    public func jobID(tick: Timestamp) -> String { "\(name)@\(tick.iso8601)" }

    /// The first tick strictly after `time` (an interval keeps its grid from
    /// `previous`, the tick just due). nil: the cron expression never fires again.
    public static func tick(_ rule: Rule, after time: Timestamp, previous: Timestamp) throws -> Timestamp? {
        switch rule {
        case let .cron(expression, zoneName):
            guard let zone = TimeZone(identifier: zoneName) else {
                throw QueueError.invalidInput("unknown time zone \(zoneName.debugDescription) (use an IANA name like Europe/Berlin)")
            }
            return try CronSchedule(expression).next(after: time, in: zone)
        case let .every(seconds):
            guard seconds >= 1 else { throw QueueError.invalidInput("--every must be at least 1s") }
            let step = Int64(seconds * 1000)
            // Whole steps from `previous` to `time`, rounded down also when `time` is
            // earlier (a schedule resumed before its next tick keeps that tick).
            let elapsed = time.milliseconds - previous.milliseconds
            let steps = elapsed >= 0 ? elapsed / step : -((-elapsed + step - 1) / step)
            return Timestamp(milliseconds: previous.milliseconds + (steps + 1) * step)
        }
    }

    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("name", .string(name))]
        switch rule {
        case let .cron(expression, zone):
            members += [("cron", .string(expression)), ("tz", .string(zone)), ("every_seconds", .null)]
        case let .every(seconds):
            members += [("cron", .null), ("tz", .null), ("every_seconds", .double(seconds))]
        }
        members += [("paused", .bool(paused)), ("catch_up", .string(catchUpAll ? "all" : "one")), ("next_run_at", .string(nextAt.iso8601)),
                    ("last_fired_at", .optional(lastFiredAt)), ("job", (try? JSONValue.parse(job)) ?? .string(job))]
        return .object(members)
    }
}
