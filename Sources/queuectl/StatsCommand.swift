import ArgumentParser
import Foundation
import QueueCore

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Throughput, success rate and latency of recent runs.",
        discussion: """
            Completed and failed runs per minute over the last 1, 5 and 60 minutes; success \
            rate, run duration and queue wait (eligible → started) over the last hour.

            Examples:
              queuectl stats
              queuectl stats --json | jq .success_rate
            """
    )
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try reportingErrors {
            let stats = try global.openStoreForReading().stats(now: .now())
            if json { Terminal.printJSON(stats.json); return }
            print(Terminal.table(["WINDOW", "COMPLETED", "FAILED", "CANCELLED", "COMPLETED/MIN", "FAILED/MIN"], stats.windows.map { w in
                ["last \(w.minutes)m", String(w.succeeded), String(w.failed), String(w.cancelled),
                 String(format: "%.1f", w.succeededPerMinute), String(format: "%.1f", w.failedPerMinute)]
            }))
            print("\nsuccess rate (1h)  " + (stats.successRate.map { String(format: "%.1f%%", $0 * 100) } ?? "-"))
            func fmt(_ v: Double?) -> String { v.map { String(format: "%.3fs", $0) } ?? "-" }
            print("run duration       p50 \(fmt(stats.runDuration.p50))  p95 \(fmt(stats.runDuration.p95))  max \(fmt(stats.runDuration.max))")
            print("queue wait         p50 \(fmt(stats.queueWait.p50))  p95 \(fmt(stats.queueWait.p95))")
        }
    }
}
