import ArgumentParser
import Foundation
import QueueCore

struct EnqueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Add jobs to the queue; prints the id of each.",
        discussion: """
            A job is a JSON object. Fields: command (required), id (default: a generated, \
            time-sortable id), max_retries (default: config max-retries), priority (integer, \
            higher runs first, default 0), run_at (a time) or delay, timeout (default: \
            config job-timeout).

            Durations (delay, timeout) are seconds or 90s, 5m, 1h, 2d. Times (run_at, \
            --at) are ISO-8601 with a zone (2026-11-22T10:30:00Z, the form --json \
            prints), or local time: "2026-11-22 10:30", or "10:30" for the next 10:30.

            Examples:
              queuectl enqueue '{"id":"job1","command":"sleep 2"}'
              queuectl enqueue '{"command":"./backup.sh","max_retries":5,"priority":10,"timeout":600}'
              queuectl enqueue --command 'make -C ~/site deploy' --delay 5m
              queuectl enqueue --command './nightly.sh' --at 02:30 --timeout 1h
              jq -c '.[]' jobs.json | queuectl enqueue -      # JSON lines: all or nothing
              queuectl enqueue - < jobs.json                  # or one JSON array
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("A job as JSON, or - to read JSON lines (or one JSON array) from stdin.", valueName: "json"))
    var json: String?

    @Option(help: "The shell command (instead of JSON).")
    var command: String?
    @Option(help: "Job id (with --command).")
    var id: String?
    // Numbers are taken as given even when negative (`--priority -5`), so a negative
    // priority works and a negative retry count or delay gets its range error.
    @Option(parsing: .unconditional, help: "Retries after the first run (with --command).")
    var maxRetries: Int?
    @Option(parsing: .unconditional, help: "Priority, higher first (with --command).")
    var priority: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("How long to wait before the job is eligible: 30, 90s, 5m, 2h (with --command).", valueName: "duration"))
    var delay: DurationArgument?
    @Option(name: [.customLong("at"), .customLong("run-at")], help: ArgumentHelp("When the job becomes eligible: 10:30, \"2026-11-22 10:30\" or ISO-8601 (with --command).", valueName: "time"))
    var runAt: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Run timeout: 30, 90s, 5m, 1h (with --command).", valueName: "duration"))
    var timeout: DurationArgument?
    @Flag(name: .customLong("json"), help: "Print the enqueued jobs as JSON instead of their ids.")
    var jsonOutput = false

    func validate() throws {
        let flagsUsed = id != nil || maxRetries != nil || priority != nil || delay != nil || runAt != nil || timeout != nil
        if command != nil && json != nil { throw ValidationError("give a JSON job or --command, not both") }
        if command == nil && json == nil { throw ValidationError("give a job as JSON, - for stdin, or --command") }
        if command == nil && flagsUsed { throw ValidationError("--id, --max-retries, --priority, --delay, --at and --timeout go with --command; put them in the JSON otherwise") }
    }

    func run() throws {
        try reportingErrors {
            if let json {
                try Self.enqueue(json: json, db: global.db, jsonOutput: jsonOutput)
            } else {
                try Self.enqueue([try commandSpec()], db: global.db, jsonOutput: jsonOutput)
            }
        }
    }

    /// `enqueue JSON` or `enqueue -` (stdin): stores the jobs and prints their ids
    /// (or the jobs, with `--json`).
    static func enqueue(json: String, db: String?, jsonOutput: Bool) throws {
        if json == "-" {
            try StdinJobs.enqueue(db: db, jsonOutput: jsonOutput)
        } else {
            try enqueue([try JobSpec(json: try JSONValue.parse(json))], db: db, jsonOutput: jsonOutput)
        }
    }

    /// Stores one job and prints its id (or the job, with `--json`).
    static func enqueue(_ specs: [JobSpec], db: String?, jsonOutput: Bool) throws {
        let store = try GlobalOptions.openStore(db: db, creating: true)
        let jobs = try store.enqueue(specs, now: .now())
        if jsonOutput {
            Terminal.printJSON(jobs[0].json)
        } else {
            print(jobs.map(\.id).joined(separator: "\n"))
        }
    }

    /// The job given by `--command` and its flags.
    private func commandSpec() throws -> JobSpec {
        var runAtTime: Timestamp?
        if let runAt {
            guard let t = Timestamp(typed: runAt, now: .now()) else {
                throw QueueError.invalidInput("--at must be a time: \(Timestamp.typedForms), got \(SafeText.quoted(runAt))")
            }
            runAtTime = t
        }
        return try JobSpec(id: id, command: command ?? "", maxRetries: maxRetries, priority: priority ?? 0,
                           runAt: runAtTime, delaySeconds: delay?.seconds, timeout: timeout?.seconds)
    }
}
