import ArgumentParser
import QueueCore

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete old final jobs with their run history and logs.",
        discussion: """
            Deletes completed, dead or cancelled jobs last changed longer ago than the \
            duration given for their state (90s, 5m, 12h, 7d), with their runs and log \
            files, in batches of 200 jobs per transaction with a pause between them, so \
            workers keep claiming while a million jobs go. A job that a job not yet final \
            depends on is kept. --dry-run only counts.

            Workers prune by themselves when the config keys retain-completed, \
            retain-dead and retain-cancelled are set (unset by default: keep forever).

            Examples:
              queuectl prune --completed-older 7d
              queuectl prune --completed-older 1d --dead-older 30d --cancelled-older 7d --dry-run
              queuectl config set retain-completed 7d
            """
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Delete completed jobs older than this.", valueName: "duration"))
    var completedOlder: String?
    @Option(help: ArgumentHelp("Delete dead jobs older than this.", valueName: "duration"))
    var deadOlder: String?
    @Option(help: ArgumentHelp("Delete cancelled jobs older than this.", valueName: "duration"))
    var cancelledOlder: String?
    @Flag(help: "Count what would be deleted; delete nothing.")
    var dryRun = false
    @Flag(help: "Print {\"completed\": N, \"dead\": N, \"cancelled\": N}.")
    var json = false

    private var ages: [(JobState, String, String?)] {
        [(.completed, "--completed-older", completedOlder), (.dead, "--dead-older", deadOlder), (.cancelled, "--cancelled-older", cancelledOlder)]
    }

    func validate() throws {
        guard ages.contains(where: { $0.2 != nil }) else {
            throw ValidationError("give --completed-older, --dead-older or --cancelled-older (a duration like 7d)")
        }
        for (_, flag, text) in ages {
            if let text, DurationText.seconds(text).map({ $0 >= 0 }) != true {
                throw ValidationError("\(flag) must be a duration like 90s, 5m, 12h or 7d, got '\(text)'")
            }
        }
    }

    func run() throws {
        try reportingErrors {
            let store = try global.openExistingStore()
            let now = Timestamp.now()
            var counts: [(String, JSONValue)] = []
            for (state, _, text) in ages {
                guard let text, let seconds = DurationText.seconds(text) else { continue }
                let count = try store.deleteFinal(state: state, updatedBefore: now.adding(seconds: -seconds), dryRun: dryRun)
                counts.append((state.rawValue, .int(count)))
                if !json { print("\(state.rawValue)  \(count) \(dryRun ? "would be deleted" : "deleted") (older than \(text))") }
            }
            if json { Terminal.printJSON(.object(counts)) }
        }
    }
}
