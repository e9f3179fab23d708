/// The Prometheus text that `queuectl metrics` prints and `queuectl web` serves at `/metrics`.
extension QueueMetrics {
    /// The metrics in the text format, in a fixed order.
    public func exposition(version: String) -> String {
        let metrics = self
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
