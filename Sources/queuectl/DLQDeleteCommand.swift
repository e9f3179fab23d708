import ArgumentParser
import QueueCore

extension DLQCommand {
    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Delete dead jobs with their run history and logs.",
            discussion: """
                Every id must name a dead job (else exit 4 and nothing is deleted). --all \
                deletes every dead job, in batches that keep the database free for workers.

                Examples:
                  queuectl dlq delete job1 job2
                  queuectl dlq delete --all
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Ids of dead jobs.")
        var ids: [String] = []
        @Flag(help: "Delete every dead job.")
        var all = false
        @Flag(help: "Print {\"deleted\": N}.")
        var json = false

        func validate() throws {
            guard !ids.isEmpty != all else { throw ValidationError("give dead job ids, or --all") }
        }

        func run() throws {
            try reportingErrors {
                let store = try global.openExistingStore()
                let count: Int
                if all {
                    count = try store.deleteAllDead()
                } else {
                    let deleted = try store.deleteDead(ids: ids)
                    if !json { for id in deleted { print(id) } }
                    count = deleted.count
                }
                if json { Terminal.printJSON(.object([("deleted", .int(count))])); return }
                Terminal.note("\(count) dead job(s) deleted")
            }
        }
    }
}
