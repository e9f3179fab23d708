import ArgumentParser
import Foundation
import QueueCore

/// How many missed ticks a schedule fires when a worker starts after a time without workers.
enum CatchUp: String, ExpressibleByArgument, CaseIterable {
    case one, all
}

struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Recurring jobs: by cron expression or fixed interval, fired by running workers.",
        discussion: """
            Running workers fire schedules; there is no separate daemon. Each tick enqueues \
            the job once, however many workers run, with the id NAME@TICK (the tick's \
            ISO-8601 time), so `queuectl show nightly@2026-12-03T02:00:00.000Z` finds it. \
            Ticks missed while no worker ran fire once when one starts, not once per tick \
            (--catch-up all fires each, at most 1000).

            Cron: 5 fields (minute hour day-of-month month day-of-week) with ranges, steps, \
            lists and names (MON-FRI, JAN), or @hourly, @daily, @weekly, @monthly, @yearly; \
            in --tz (default UTC). Daylight saving time as cron does: a skipped time fires at \
            the first minute after the jump, a repeated time fires once.

            Examples:
              queuectl schedule add nightly --cron "0 2 * * *" --tz Europe/Berlin '{"command":"./backup.sh"}'
              queuectl schedule add poll --every 5m '{"command":"./poll.sh","queue":"io"}'
              queuectl schedule list
              queuectl schedule pause nightly
              queuectl schedule resume nightly
              queuectl schedule remove poll
            """,
        subcommands: [Add.self, List.self, Remove.self, Pause.self, Resume.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Add a schedule.",
            discussion: """
                The job is JSON as `enqueue` takes it, without id, run_at or delay (each \
                tick's job gets them from the tick). The first tick is the first after now.

                Examples:
                  queuectl schedule add report --cron "30 8 * * MON-FRI" '{"command":"./report.sh"}'
                  queuectl schedule add heartbeat --every 10m '{"command":"curl -fsS https://example.invalid/ping"}'
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Schedule name (like a job id, at most 64 bytes, no @).")
        var name: String
        @Argument(help: "The job, as JSON.")
        var job: String
        @Option(help: "Cron expression (5 fields or @daily, …).")
        var cron: String?
        @Option(help: "Time zone for --cron (IANA name, default UTC).")
        var tz: String?
        @Option(parsing: .unconditional, help: "Interval instead of --cron: 90s, 10m, 1h, 2d.")
        var every: String?
        @Option(help: "After a time without workers, fire one missed tick (default) or all of them (at most 1000).")
        var catchUp: CatchUp = .one
        @Flag(help: "Print the schedule as JSON.")
        var json = false

        func validate() throws {
            guard (cron == nil) != (every == nil) else { throw ValidationError("give --cron or --every (one of them)") }
            if tz != nil, cron == nil { throw ValidationError("--tz goes with --cron") }
            if let every, DurationText.seconds(every) == nil {
                throw ValidationError("--every must be a duration like 90s, 10m, 1h or 2d, got \(every.debugDescription)")
            }
        }

        func run() throws {
            try reportingErrors {
                let rule: Schedule.Rule = cron.map { .cron($0, timeZone: tz ?? "UTC") } ?? .every(seconds: DurationText.seconds(every ?? "") ?? 0)
                let schedule = try global.openStore().addSchedule(name: name, rule: rule, job: job, catchUpAll: catchUp == .all, now: .now())
                if json { Terminal.printJSON(schedule.json); return }
                print(schedule.name)
                Terminal.note("next run \(schedule.nextAt.iso8601) (\(Terminal.relative(schedule.nextAt)))")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List schedules with their next run.",
            discussion: """
                Examples:
                  queuectl schedule list
                  queuectl schedule list --json | jq -r '.[].next_run_at'
                """
        )
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print a JSON array of schedule objects.")
        var json = false

        func run() throws {
            try reportingErrors {
                let schedules = try global.openStoreForReading().schedules()
                if json { Terminal.printJSON(.array(schedules.map(\.json))); return }
                if schedules.isEmpty { Terminal.note("no schedules"); return }
                let now = Timestamp.now()
                print(Terminal.table(["NAME", "RULE", "STATUS", "NEXT RUN", "LAST FIRED", "JOB"], schedules.map { s in
                    let rule: String
                    switch s.rule {
                    case let .cron(expression, zone): rule = "\(expression) (\(zone))"
                    case let .every(seconds): rule = "every \(DurationText.exact(seconds))"
                    }
                    return [s.name, rule, s.paused ? "paused" : "active",
                            s.paused ? "-" : "\(s.nextAt.iso8601) (\(Terminal.relative(s.nextAt, now: now)))",
                            s.lastFiredAt.map { Terminal.relative($0, now: now) } ?? "-", Terminal.clip(s.job, 50)]
                }))
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Remove a schedule (jobs it already enqueued stay).",
            discussion: """
                Examples:
                  queuectl schedule remove nightly
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Schedule name.")
        var name: String

        func run() throws {
            try reportingErrors {
                try global.openExistingStore().removeSchedule(name: name)
                Terminal.note("removed schedule \(name)")
            }
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause",
            abstract: "Stop firing a schedule until it is resumed.",
            discussion: """
                Ticks while paused do not fire, not even once on resume.

                Examples:
                  queuectl schedule pause nightly
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Schedule name.")
        var name: String

        func run() throws {
            try reportingErrors {
                _ = try global.openExistingStore().setSchedulePaused(name: name, true, now: .now())
                Terminal.note("paused schedule \(name)")
            }
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume",
            abstract: "Fire a paused schedule again, from its next tick after now.",
            discussion: """
                Examples:
                  queuectl schedule resume nightly
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Schedule name.")
        var name: String

        func run() throws {
            try reportingErrors {
                let schedule = try global.openExistingStore().setSchedulePaused(name: name, false, now: .now())
                Terminal.note("resumed schedule \(name); next run \(schedule.nextAt.iso8601)")
            }
        }
    }
}
