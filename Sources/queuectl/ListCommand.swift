import ArgumentParser
import QueueCore

extension JobState: ExpressibleByArgument {}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List jobs, oldest first (--newest for newest first).",
        discussion: """
            Shows the first 100 jobs unless --limit says otherwise (a note on stderr \
            says when there are more, or how many there are when --offset is past \
            the last). --json prints every job unless --limit or \
            --offset is given, so a script reading it sees the whole list.

            Examples:
              queuectl list
              queuectl list --newest --limit 10
              queuectl list --state pending --limit 20 --offset 20
              queuectl list --queue mail --state pending
              queuectl list --schedule nightly
              queuectl list --tag nightly
              queuectl list --state failed --json | jq -r '.[].id'
            """
    )
    static let defaultLimit = 100

    /// `--json` without `--limit` or `--offset` prints every job, not a page.
    static func showsEveryJob(limit: Int?, offset: Int, json: Bool) -> Bool {
        json && limit == nil && offset == 0
    }

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Only jobs in this state (blocked: waiting for its dependencies; scheduled: waiting for its run_at; failed: a retry is due later; dead: the DLQ).", valueName: "state"))
    var state: JobState?
    @Option(parsing: .unconditional, help: ArgumentHelp("Most jobs to show (default: \(ListCommand.defaultLimit); with --json, all).", valueName: "n"))
    var limit: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Jobs to skip first, for paging.", valueName: "n"))
    var offset = 0
    @Option(help: "Only jobs of this queue.")
    var queue: String?
    @Option(help: "Only jobs fired by this schedule (their ids are NAME@TICK).")
    var schedule: String?
    @Option(help: ArgumentHelp("Only jobs with this tag.", valueName: "tag"))
    var tag: String?
    @Flag(help: "Newest first.")
    var newest = false
    @Flag(help: "Print a JSON array of job objects.")
    var json = false

    /// The options as a plain value (``QuickCommand`` builds one directly).
    var request: ListRequest {
        ListRequest(state: state, limit: limit, offset: offset, queue: queue, schedule: schedule, tag: tag,
                    newest: newest, json: json)
    }

    func validate() throws { try request.validate() }

    func run() throws { try request.run(global) }

    /// Prints the jobs of `query`: a page (`limit`, default 100) as a table, with a
    /// note on stderr when there are more; with `json`, every job unless `limit` or
    /// `offset` is given. `dlq list` shares it.
    /// `page`: the page, already read (``ListRequest``'s first page).
    static func show(_ query: JobListQuery, store: any JobStore, limit: Int?, offset: Int, json: Bool, page read: JobPage? = nil,
                     render: ([Job]) -> String = { JobTable.render($0) }, empty: String? = nil) throws {
        if showsEveryJob(limit: limit, offset: offset, json: json) {
            var printer = Terminal.JSONArrayPrinter()
            try store.forEachJob(query) { printer.add($0.json) }
            printer.finish()
            return
        }
        let page = try read ?? store.jobPage(query, limit: limit ?? defaultLimit, offset: offset)
        if json {
            Terminal.printJSON(.array(page.jobs.map(\.json)))
            return
        }
        if page.jobs.isEmpty, let empty, offset == 0 {
            Terminal.note(empty)
            return
        }
        print(render(page.jobs))
        if page.jobs.isEmpty, offset > 0, page.total > 0 {
            // A table of no rows would read as "no such jobs"; say there are some, earlier.
            Terminal.note("no jobs at offset \(offset) (\(page.total) in all)")
        } else if offset + page.jobs.count < page.total {
            Terminal.note("showing \(offset + 1)–\(offset + page.jobs.count) of \(page.total); use --limit/--offset for more")
        }
    }
}

/// What `list` was asked for, and its work, on plain values.
struct ListRequest {
    var state: JobState?
    var limit: Int?
    var offset = 0
    var queue: String?
    var schedule: String?
    var tag: String?
    var newest = false
    var json = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if newest, queue != nil || schedule != nil || tag != nil {
            throw ValidationError("--newest does not go with --queue, --schedule or --tag")
        }
        guard offset >= 0 else { throw ValidationError("--offset must not be negative") }
    }

    func run(_ database: some DatabaseOption) throws {
        try reportingErrors {
            if queue != nil || schedule != nil || tag != nil {
                let store = try database.openStoreForReading()
                // A queue's, a schedule's or a tag's jobs, oldest first (schedule: in tick order).
                let all = ListCommand.showsEveryJob(limit: limit, offset: offset, json: json)
                let pageSize = all ? Int.max : limit ?? ListCommand.defaultLimit
                let jobs = try tag.map { try store.jobs(tagged: $0, state: state, limit: pageSize, offset: offset) }
                    ?? (try store.jobs(state: state, queue: queue, schedule: schedule, limit: pageSize, offset: offset))
                if json { Terminal.printJSON(.array(jobs.map(\.json))) } else { print(JobTable.render(jobs)) }
                return
            }
            let query = JobListQuery(state: state, order: newest ? .newest : .oldest)
            // A first page (on a server, read with the queue's opening), or a later
            // page or every job (`--json` alone), read after opening.
            let firstPage = offset == 0 && !ListCommand.showsEveryJob(limit: limit, offset: offset, json: json)
            let (store, page) = firstPage
                ? try database.openStoreForFirstPage(query, limit: limit ?? ListCommand.defaultLimit)
                : (try database.openStoreForReading(), nil)
            try ListCommand.show(query, store: store, limit: limit, offset: offset, json: json, page: page)
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
