import ArgumentParser
import QueueCore

struct RequeueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue",
        abstract: "Run final jobs again, as new jobs with the same spec.",
        discussion: """
            Copies each completed, dead or cancelled job into a new pending job with a new \
            id (same command, retries, priority, timeout, dependencies, tags, cwd, env), \
            recording requeued_from. The original stays as it was. All or nothing: a job \
            that is not final is a conflict (exit 4). Prints the new ids, in order.

            Examples:
              queuectl requeue job1
              queuectl requeue $(queuectl list --state cancelled --json | jq -r '.[].id')
            """
    )
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Ids of final jobs.")
    var ids: [String] = []
    @Flag(help: "Print the new jobs as JSON.")
    var json = false

    func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("give at least one job id") }
    }

    func run() throws {
        try reportingErrors {
            let jobs = try global.openExistingStore().requeue(ids: ids, now: .now())
            if json { Terminal.printJSON(.array(jobs.map(\.json))); return }
            for job in jobs { print(job.id) }
            Terminal.note(zip(ids, jobs).map { "\($0) → \($1.id) (\($1.state.rawValue))" }.joined(separator: "\n"))
        }
    }
}

struct RunNowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-now",
        abstract: "Make delayed or retry-waiting jobs eligible at once.",
        discussion: """
            Makes scheduled (delayed) and failed (waiting to be retried) jobs pending with \
            run_at now, and wakes idle workers (a pending job is left as it is). All or nothing: a job in another state is a \
            conflict (exit 4).

            Examples:
              queuectl run-now job1
              queuectl run-now $(queuectl list --state failed --json | jq -r '.[].id')
            """
    )
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Ids of scheduled, failed or pending jobs.")
    var ids: [String] = []
    @Flag(help: "Print the jobs as JSON.")
    var json = false

    func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("give at least one job id") }
    }

    func run() throws {
        try reportingErrors {
            let jobs = try global.openExistingStore().runNow(ids: ids, now: .now())
            if json { Terminal.printJSON(.array(jobs.map(\.json))); return }
            for job in jobs { print(job.id) }
            Terminal.note("\(jobs.count) job(s) eligible now")
        }
    }
}
