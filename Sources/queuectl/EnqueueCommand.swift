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
            config job-timeout), queue (default: default), depends_on (ids of jobs that must \
            complete first: each must exist or come earlier in the same batch; the job is \
            blocked until then, and cancelled if one ends dead or cancelled), unique_key \
            (while a job with the same key is not final, enqueuing another prints the \
            existing id and writes nothing), tags (array of labels, for list --tag), cwd \
            (absolute directory; default: the worker's directory), env (object of \
            variables set over the worker's environment), backoff_base and backoff_max \
            (this job's backoff), retry_on_exit (only these exit codes are retried) and \
            no_retry_exit (these exit codes go straight to dead).

            --wait (one job): enqueue, print the job's output as it runs, and exit with the \
            job's own exit code (128+N if a signal N killed it; 5 if it was cancelled or \
            ended without an exit code), so `queuectl enqueue --wait --command 'make test'` \
            stands in for `make test`.

            Durations (delay, timeout) are seconds or 90s, 5m, 1h, 2d. Times (run_at, \
            --at) are ISO-8601 with a zone (2026-11-22T10:30:00Z, the form --json \
            prints), or local time: "2026-11-22 10:30", or "10:30" for the next 10:30.

            Examples:
              queuectl enqueue '{"id":"job1","command":"sleep 2"}'
              queuectl enqueue '{"command":"./backup.sh","max_retries":5,"priority":10,"timeout":600}'
              queuectl enqueue --command 'make -C ~/site deploy' --delay 5m
              queuectl enqueue --command './nightly.sh' --at 02:30 --timeout 1h
              queuectl enqueue --command './send-mail.sh' --queue mail
              jq -c '.[]' jobs.json | queuectl enqueue -      # JSON lines: all or nothing
              queuectl enqueue - < jobs.json                  # or one JSON array
              queuectl enqueue --wait --here --command 'make test'
              queuectl enqueue --command './deploy.sh' --depends-on build --env STAGE=prod --tag deploy
              queuectl enqueue '{"command":"./sync.sh","unique_key":"sync","no_retry_exit":[2]}'
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
    @Option(help: ArgumentHelp("The named queue (with --command; default: default).", valueName: "name"))
    var queue: String?
    @Option(name: .customLong("depends-on"), help: ArgumentHelp("A job that must complete first (repeatable; with --command).", valueName: "id"))
    var dependsOn: [String] = []
    @Option(help: "Unique key: while a job with it is not final, no other is queued (with --command).")
    var uniqueKey: String?
    @Option(help: ArgumentHelp("Directory the job runs in (absolute; default: the worker's).", valueName: "dir"))
    var cwd: String?
    @Flag(help: "Run the job in the current directory (records it as cwd).")
    var here = false
    @Option(help: ArgumentHelp("Set a variable for the job (repeatable).", valueName: "name=value"))
    var env: [String] = []
    @Option(help: ArgumentHelp("Label the job (repeatable; see list --tag).", valueName: "tag"))
    var tag: [String] = []
    @Flag(help: "Wait for the job, printing its output, and exit with its exit code (one job).")
    var wait = false
    @Flag(name: .customLong("json"), help: "Print the enqueued jobs as JSON instead of their ids.")
    var jsonOutput = false

    func validate() throws {
        let flagsUsed = id != nil || maxRetries != nil || priority != nil || delay != nil || runAt != nil || timeout != nil || queue != nil
        if command != nil && json != nil { throw ValidationError("give a JSON job or --command, not both") }
        if command == nil && json == nil { throw ValidationError("give a job as JSON, - for stdin, or --command") }
        if command == nil && flagsUsed { throw ValidationError("--id, --max-retries, --priority, --delay, --at, --timeout and --queue go with --command; put them in the JSON otherwise") }
        if command == nil && (!dependsOn.isEmpty || uniqueKey != nil) { throw ValidationError("--depends-on and --unique-key go with --command; put them in the JSON otherwise") }
        if here && cwd != nil { throw ValidationError("give --cwd or --here, not both") }
        if wait && json == "-" { throw ValidationError("--wait takes one job (--command or one JSON object), not stdin") }
        if wait && jsonOutput { throw ValidationError("--wait prints the job's output; use `queuectl wait ID --json` for JSON") }
        for entry in env where !entry.contains("=") { throw ValidationError("--env takes NAME=VALUE, got \(SafeText.quoted(entry))") }
    }

    func run() throws {
        try reportingErrors {
            if wait {
                let spec = try applyingRunFlags(try command.map { _ in try commandSpec() } ?? JobSpec(json: try JSONValue.parse(json ?? "")))
                let store = try global.openStore()
                let enqueued = try store.enqueueReportingDuplicates([spec], now: .now())[0]
                if enqueued.duplicate { Terminal.note("already queued as \(SafeText.visible(enqueued.job.id)); waiting for it") }
                if try store.workers().isEmpty { Terminal.note(WaitCommand.noWorkersNote) }
                throw ExitCode(try JobFollower(store: store).follow(jobID: enqueued.job.id))
            }
            if let json {
                try Self.enqueue(json: json, db: global.db, jsonOutput: jsonOutput, transform: applyingRunFlags)
            } else {
                try Self.enqueue([try applyingRunFlags(try commandSpec())], db: global.db, jsonOutput: jsonOutput)
            }
        }
    }

    /// `enqueue JSON` or `enqueue -` (stdin): stores the jobs and prints their ids
    /// (or the jobs, with `--json`). `transform` applies the command line's flags
    /// (--cwd, --env, --tag…) to each job.
    static func enqueue(json: String, db: String?, jsonOutput: Bool,
                        transform: @escaping (JobSpec) throws -> JobSpec = { $0 }) throws {
        if json == "-" {
            try StdinJobs.enqueue(db: db, jsonOutput: jsonOutput, transform: transform)
        } else {
            try enqueue([try transform(try JobSpec(json: try JSONValue.parse(json)))], db: db, jsonOutput: jsonOutput)
        }
    }

    /// Stores one job and prints its id (or the job, with `--json`). A job whose
    /// unique key is held prints the holder's id, with a note on stderr.
    static func enqueue(_ specs: [JobSpec], db: String?, jsonOutput: Bool) throws {
        let store = try PlainDatabaseOption(db: db).openStore()
        let jobs = try store.enqueueReportingDuplicates(specs, now: .now())
        for job in jobs where job.duplicate { noteDuplicate(job) }
        if jsonOutput {
            Terminal.printJSON(json(of: jobs[0]))
        } else {
            print(jobs.map { SafeText.visible($0.job.id) }.joined(separator: "\n"))
        }
    }

    /// "already queued as ID" on stderr, for a job not queued because its unique
    /// key is held.
    static func noteDuplicate(_ enqueued: EnqueuedJob) {
        Terminal.note("already queued as \(SafeText.visible(enqueued.job.id))")
    }

    /// The job's JSON; with a unique key, `duplicate_of` names the job already
    /// queued under it (null when this one was queued).
    static func json(of enqueued: EnqueuedJob) -> JSONValue {
        guard enqueued.duplicate || enqueued.job.uniqueKey != nil, case var .object(fields) = enqueued.job.json else {
            return enqueued.job.json
        }
        fields.append(("duplicate_of", enqueued.duplicate ? .string(enqueued.job.id) : .null))
        return .object(fields)
    }

    /// The spec with --cwd/--here, --env and --tag applied (a job's own cwd and env
    /// entries in its JSON win), and --depends-on/--unique-key for --command.
    private func applyingRunFlags(_ spec: JobSpec) throws -> JobSpec {
        guard here || cwd != nil || !env.isEmpty || !tag.isEmpty || !dependsOn.isEmpty || uniqueKey != nil else { return spec }
        var spec = spec
        if spec.options.cwd == nil {
            spec.options.cwd = here ? FileManager.default.currentDirectoryPath : cwd.map(Self.absolutePath)
        }
        for entry in env {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            if spec.options.env[name] == nil { spec.options.env[name] = parts.count > 1 ? String(parts[1]) : "" }
        }
        for t in tag where !spec.tags.contains(t) { spec.tags.append(t) }
        if command != nil {
            spec.dependsOn = dependsOn
            spec.uniqueKey = uniqueKey
        }
        try spec.validate()
        return spec
    }

    /// A relative --cwd is taken from the current directory.
    private static func absolutePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
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
                           runAt: runAtTime, delaySeconds: delay?.seconds, timeout: timeout?.seconds,
                           queue: queue ?? QueueName.defaultName)
    }
}
