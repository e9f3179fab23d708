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
            print(Self.exposition(metrics, version: Queuectl.configuration.version), terminator: "")
        }
    }

    /// The metrics in the text format, in a fixed order.
    static func exposition(_ metrics: QueueMetrics, version: String) -> String {
        var out = PrometheusText()
        out.metric("queuectl_jobs", .gauge, help: "Jobs in the queue by state.")
        for state in JobState.allCases {
            out.sample("queuectl_jobs", [("state", state.rawValue)], metrics.jobs[state])
        }
        out.metric("queuectl_runs_total", .counter, help: "Finished runs in the history by outcome.")
        for outcome in RunOutcome.allCases {
            out.sample("queuectl_runs_total", [("outcome", outcome.rawValue)], metrics.runs[outcome] ?? 0)
        }
        let histogram = metrics.runDuration
        out.metric("queuectl_run_duration_seconds", .histogram, help: "How long finished runs took, in seconds.")
        for bucket in histogram.buckets {
            out.sample("queuectl_run_duration_seconds_bucket",
                       [("le", PrometheusText.seconds(milliseconds: bucket.upperBoundMilliseconds))], bucket.cumulativeCount)
        }
        out.sample("queuectl_run_duration_seconds_bucket", [("le", "+Inf")], histogram.count)
        out.sample("queuectl_run_duration_seconds_sum", [], PrometheusText.seconds(milliseconds: histogram.sumMilliseconds))
        out.sample("queuectl_run_duration_seconds_count", [], histogram.count)
        out.metric("queuectl_queue_latency_seconds", .gauge,
                   help: "How long the oldest job that may run now has waited since it became due (0 when none waits).")
        out.sample("queuectl_queue_latency_seconds", [], PrometheusText.seconds(milliseconds: metrics.queueLatencyMilliseconds))
        out.metric("queuectl_workers", .gauge, help: "Registered workers by state.")
        for state in WorkerState.allCases {
            out.sample("queuectl_workers", [("state", state.rawValue)], metrics.workers[state] ?? 0)
        }
        out.metric("queuectl_build_info", .gauge, help: "The queuectl version that wrote these metrics (always 1).")
        out.sample("queuectl_build_info", [("version", version)], 1)
        return out.text
    }
}
