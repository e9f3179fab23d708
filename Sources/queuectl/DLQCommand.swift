import ArgumentParser
import QueueCore

struct DLQCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "The dead letter queue: jobs whose retries are exhausted.",
        discussion: """
            Examples:
              queuectl dlq list
              queuectl dlq retry job1 job2
              queuectl dlq retry $(queuectl dlq list --json | jq -r '.[].id')
              queuectl dlq retry --all
              queuectl dlq delete --all
            """,
        subcommands: [List.self, Retry.self, Delete.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List dead jobs, the most recently died first.",
            discussion: """
                Shows the first 100 unless --limit says otherwise; --json prints every \
                dead job unless --limit or --offset is given.

                Examples:
                  queuectl dlq list
                  queuectl dlq list --json | jq -r '.[].id'
                """
        )
        @OptionGroup var global: GlobalOptions
        @Option(parsing: .unconditional, help: ArgumentHelp("Most jobs to show (default: \(ListCommand.defaultLimit); with --json, all).", valueName: "n"))
        var limit: Int?
        @Option(parsing: .unconditional, help: ArgumentHelp("Jobs to skip first, for paging.", valueName: "n"))
        var offset = 0
        @Flag(help: "Print a JSON array of job objects.")
        var json = false

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
            guard offset >= 0 else { throw ValidationError("--offset must not be negative") }
        }

        func run() throws {
            try reportingErrors {
                let store = try global.openStoreForReading()
                try ListCommand.show(JobListQuery(state: .dead, order: .recentlyChanged), store: store, limit: limit, offset: offset,
                                     json: json, render: Self.render, empty: "the dead letter queue is empty")
            }
        }

        static func render(_ jobs: [Job]) -> String {
            Terminal.table(["ID", "RUNS", "DIED", "LAST ERROR", "COMMAND"], jobs.map { j in
                [j.id, String(j.attempts), Terminal.relative(j.updatedAt), Terminal.clip(j.lastError ?? "-", 50), Terminal.clip(j.command, 40)]
            })
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retry",
            abstract: "Move dead jobs back to pending with attempts reset to 0.",
            discussion: """
                Every id must name a dead job; otherwise nothing is changed. --all retries                 every dead job, in batches.

                Examples:
                  queuectl dlq retry job1
                  queuectl dlq retry job1 job2 job3
                  queuectl dlq retry --all
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Ids of dead jobs.", completion: JobIDCompletion.dead)
        var ids: [String] = []
        @Flag(help: "Retry every dead job.")
        var all = false
        @Flag(help: "Print the retried jobs as JSON (with --all: {\"retried\": N}).")
        var json = false

        func validate() throws {
            guard !ids.isEmpty != all else { throw ValidationError("give at least one job id, or --all") }
        }

        func run() throws {
            try reportingErrors {
                if all {
                    let count = try global.openExistingStore().retryAllDead(now: .now())
                    if json { Terminal.printJSON(.object([("retried", .int(count))])) } else { Terminal.note("\(count) job(s) → pending") }
                    return
                }
                let jobs = try global.openExistingStore().retryDead(ids: ids, now: .now())
                if json { Terminal.printJSON(.array(jobs.map(\.json))); return }
                for job in jobs { print(job.id) }
                Terminal.note("\(jobs.count) job(s) → pending")
            }
        }
    }
}
