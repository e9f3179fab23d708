import ArgumentParser
import QueueCore

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show job counts for every state and the active workers.",
        discussion: """
            Examples:
              queuectl status
              queuectl status --json | jq .jobs.pending
            """
    )
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON.")
    var json = false

    func run() throws { try Self.show(global, json: json) }

    /// The command's work, on plain values (``QuickCommand`` calls it too).
    static func show(_ database: some DatabaseOption, json: Bool) throws {
        try reportingErrors {
            let (store, counts, workers) = try database.openStoreForStatus()
            if json {
                Terminal.printJSON(StatusReport.json(counts: counts, workers: workers, database: store.displayAddress))
                return
            }
            print("Jobs (\(counts.total) total)")
            for state in JobState.allCases {
                let n = String(counts[state])
                print("  \(Terminal.state(state, width: 11)) \(String(repeating: " ", count: max(0, 8 - n.count)))\(n)")
            }
            let busy = workers.filter { $0.state == .busy }.count
            print("\nWorkers: \(workers.count) active (\(busy) busy, \(workers.count - busy) idle or stopping)")
            if !workers.isEmpty { print(WorkerTable.render(workers).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")) }
        }
    }
}
