import ArgumentParser
import QueueCore

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print the queue's metrics once, in the Prometheus text format.",
        discussion: """
            Jobs by state, finished runs by outcome, a histogram of run durations, the \
            queue latency (how long the oldest job that may run has waited) and workers \
            by state. Run it from cron for node_exporter's textfile collector, writing \
            to a temporary file first so the collector never reads half a file.

            Examples:
              queuectl metrics
              f=/var/lib/node_exporter/queuectl.prom   # for the textfile collector:
              queuectl metrics > $f.$$ && mv $f.$$ $f

            A database that does not exist is "not found" (exit 3); it is not created.
            """
    )
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try reportingErrors {
            let store = try global.openStoreForReading()
            let metrics = try store.metrics(now: .now())
            print(metrics.exposition(version: Queuectl.configuration.version), terminator: "")
        }
    }
}
