import ArgumentParser
import QueueCore

extension JobState: ExpressibleByArgument {}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List jobs, oldest first.",
        discussion: """
            States: pending, blocked (waiting for its dependencies), processing, completed, \
            failed (retry scheduled), dead (the DLQ), scheduled (waiting for its run_at), cancelled.

            Examples:
              queuectl list
              queuectl list --state pending --limit 20
              queuectl list --queue mail --state pending
              queuectl list --schedule nightly
              queuectl list --state failed --json | jq -r '.[].id'
              queuectl list --tag nightly
            """
    )
    static let defaultLimit = 100

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Only jobs in this state (\(JobState.allCases.map(\.rawValue).joined(separator: ", "))).", valueName: "state"))
    var state: JobState?
    @Option(help: "Most jobs to show (default \(ListCommand.defaultLimit)).")
    var limit = ListCommand.defaultLimit
    @Option(help: "Jobs to skip first, for paging.")
    var offset = 0
    @Option(help: "Only jobs of this queue.")
    var queue: String?
    @Option(help: "Only jobs fired by this schedule (their ids are NAME@TICK).")
    var schedule: String?
    @Option(help: ArgumentHelp("Only jobs with this tag.", valueName: "tag"))
    var tag: String?
    @Flag(help: "Print a JSON array of job objects.")
    var json = false

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        guard offset >= 0 else { throw ValidationError("--offset must not be negative") }
    }

    func run() throws {
        try reportingErrors {
            let store = try global.openStoreForReading()
            let filtered = queue != nil || schedule != nil || tag != nil
            let jobs = try tag.map { try store.jobs(tagged: $0, state: state, limit: limit, offset: offset) }
                ?? (filtered ? try store.jobs(state: state, queue: queue, schedule: schedule, limit: limit, offset: offset)
                             : try store.jobs(state: state, limit: limit, offset: offset))
            if json {
                Terminal.printJSON(.array(jobs.map(\.json)))
                return
            }
            print(JobTable.render(jobs))
            let counts = try store.counts()
            let total = state.map { counts[$0] } ?? counts.total
            if !filtered, offset + jobs.count < total {
                Terminal.note("showing \(offset + 1)–\(offset + jobs.count) of \(total); use --limit/--offset for more")
            }
        }
    }
}

enum JobTable {
    static func render(_ jobs: [Job], now: Timestamp = .now()) -> String {
        let rows = jobs.map { job -> [String] in
            let when: String
            switch job.state {
            case .pending, .failed, .scheduled: when = job.runAt > now ? "runs " + Terminal.relative(job.runAt, now: now) : "ready"
            default: when = "updated " + Terminal.relative(job.updatedAt, now: now)
            }
            return [job.id, job.state.rawValue, "\(job.attempts)/\(job.maxRetries + 1)", String(job.priority), when,
                    Terminal.clip(job.command, 60)]
        }
        return Terminal.table(["ID", "STATE", "RUNS", "PRI", "WHEN", "COMMAND"], rows) { row, column, cell in
            column == 1 ? Terminal.colored(cell, jobs[row].state.color) : cell
        }
    }
}
