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
            higher runs first, default 0), run_at (ISO-8601 time) or delay (seconds), \
            timeout (seconds; default: config job-timeout).

            Examples:
              queuectl enqueue '{"id":"job1","command":"sleep 2"}'
              queuectl enqueue '{"command":"./backup.sh","max_retries":5,"priority":10,"timeout":600}'
              queuectl enqueue --command 'make -C ~/site deploy' --delay 60
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
    @Option(parsing: .unconditional, help: "Seconds to wait before the job is eligible (with --command).")
    var delay: Double?
    @Option(help: "ISO-8601 time the job becomes eligible (with --command).")
    var runAt: String?
    @Option(parsing: .unconditional, help: "Run timeout in seconds (with --command).")
    var timeout: Double?
    @Flag(name: .customLong("json"), help: "Print the enqueued jobs as JSON instead of their ids.")
    var jsonOutput = false

    func validate() throws {
        let flagsUsed = id != nil || maxRetries != nil || priority != nil || delay != nil || runAt != nil || timeout != nil
        if command != nil && json != nil { throw ValidationError("give a JSON job or --command, not both") }
        if command == nil && json == nil { throw ValidationError("give a job as JSON, - for stdin, or --command") }
        if command == nil && flagsUsed { throw ValidationError("--id, --max-retries, --priority, --delay, --run-at and --timeout go with --command; put them in the JSON otherwise") }
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
            guard let t = Timestamp(iso8601: runAt) else {
                throw QueueError.invalidInput("--run-at must be an ISO-8601 time with a zone, like 2026-11-22T10:30:00Z")
            }
            runAtTime = t
        }
        return try JobSpec(id: id, command: command ?? "", maxRetries: maxRetries, priority: priority ?? 0,
                           runAt: runAtTime, delaySeconds: delay, timeout: timeout)
    }
}
