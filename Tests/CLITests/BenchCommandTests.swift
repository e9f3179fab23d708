import Foundation
import Testing
import QueueCore
import TestSupport

/// `queuectl bench` is measured by running it, not by timed tests: this only checks
/// that a tiny run completes on scratch databases and reports every figure.
@Suite struct BenchCommandTests {
    @Test func tinyBenchReportsEveryFigureAsJSON() throws {
        let sandbox = try QueueSandbox(name: "bench")
        // A file store always: it checks that the bench never creates the sandbox's database file.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        // No --db: the bench takes none and makes its own scratch databases.
        let result = try sandbox.runRaw(
            ["bench", "--jobs", "20", "--workers", "2", "--scale", "--scale-rows", "2000", "--idle-seconds", "0.2",
             "--pickup-samples", "3", "--batch-jobs", "200", "--enqueue-calls", "2", "--json"], environment: ["QUEUECTL_DB": db], timeout: 180)
        #expect(result.status == 0, "\(result)")
        let report = try JSONValue.parse(result.stdout)
        for field in ["machine", "sqlite", "durability"] {
            guard case let .string(text)? = report[field] else { Issue.record("missing \(field)"); continue }
            #expect(!text.isEmpty)
        }
        let expected = ["spawn_floor", "drain", "drain_vs_floor", "pickup_p50", "pickup_p99", "idle_cpu", "idle_rss",
                        "queue_overhead", "enqueue_batch", "enqueue_single", "small_status", "small_list", "scale_status", "scale_list",
                        "claim_empty", "claim_scale", "enqueue_empty", "enqueue_scale",
                        "backlog_pickup_p50", "backlog_pickup_p99", "backlog_idle_cpu", "backlog_enqueue_empty", "backlog_enqueue",
                        "cpu_steal"]
        let results = try #require(report["results"])
        for key in expected {
            guard case let .number(value, _)? = results[key]?["value"] else {
                Issue.record("missing result \(key)")
                continue
            }
            #expect(value >= 0 && value.isFinite, "\(key) = \(value)")
        }
        if case let .number(steal, _)? = results["cpu_steal"]?["value"] { #expect(steal <= 100) }
        // The user's database is never touched: the sandbox database was not even created.
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test func benchRejectsNonsenseSizes() throws {
        let sandbox = try QueueSandbox(name: "bench-usage")
        defer { sandbox.cleanup() }
        let result = try sandbox.runRaw(["bench", "--jobs", "0"], environment: [:])
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("error:"))
        #expect(result.stdout.isEmpty)
    }
}
