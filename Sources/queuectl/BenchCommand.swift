import ArgumentParser
import QueueBench
import QueueCore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure queuectl on this machine (on scratch databases, never yours).",
        discussion: """
            Measures, in one run: the spawn floor (W threads spawning /bin/sh -c true), the \
            drain rate of W real workers and its ratio to the floor, the queue's own overhead \
            per job, enqueue throughput (batch and single calls), pickup latency to idle \
            workers with their CPU and memory use, and with --scale the cost of status, list, \
            claim and enqueue with a million jobs in the table, and a backlog phase: pickup \
            latency, idle worker CPU and single enqueues with a million jobs scheduled for \
            later (and a million completed) in the table. Targets are shown beside \
            each figure.

            With --db postgres://…, the same phases run on SQLite and then on that \
            PostgreSQL database (in scratch schemas of their own, dropped afterwards), and \
            the two are printed side by side. Without --db the bench never reads \
            $QUEUECTL_DB: it measures SQLite in a temporary folder.

            Examples:
              queuectl bench
              queuectl bench --jobs 5000 --workers 2 --scale
              queuectl bench --db postgres://queuectl@db.internal:5432/queuectl
              queuectl bench --json > bench.json
            """
    )
    @Option(help: "Jobs for the drain phase.")
    var jobs = 5000
    @Option(help: "Worker processes (and spawn-floor threads).")
    var workers = 2
    @Flag(help: "Also measure with 1,000,000 jobs in the table (takes about a minute).")
    var scale = false
    @Option(help: ArgumentHelp("Rows for --scale.", visibility: .hidden))
    var scaleRows = 1_000_000
    @Option(help: ArgumentHelp("Seconds to watch idle workers.", visibility: .hidden))
    var idleSeconds: Double = 10
    @Option(help: ArgumentHelp("Samples of pickup latency.", visibility: .hidden))
    var pickupSamples = 300
    @Option(help: ArgumentHelp("Jobs in the enqueue - batch.", visibility: .hidden))
    var batchJobs = 100_000
    @Option(help: ArgumentHelp("Single enqueue calls to time.", visibility: .hidden))
    var enqueueCalls = 30
    @Option(help: ArgumentHelp("Comma-separated phases to run: drain, overhead, enqueue, scale, backlog.", visibility: .hidden))
    var only: String?
    @Flag(help: "Print JSON.")
    var json = false
    @Option(help: ArgumentHelp("A postgres:// database to measure beside SQLite (scratch schemas only).", valueName: "address"))
    var db: String?

    func validate() throws {
        guard (10...10_000_000).contains(jobs) else { throw ValidationError("--jobs must be from 10 to 10000000") }
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be from 1 to 64") }
        guard scaleRows >= 1000 else { throw ValidationError("--scale-rows must be at least 1000") }
        guard pickupSamples >= 1, idleSeconds >= 0, batchJobs >= 1, enqueueCalls >= 1 else {
            throw ValidationError("sample counts must be at least 1 and --idle-seconds not negative")
        }
    }

    func run() throws {
        try reportingErrors {
            let bench = Benchmark(jobs: jobs, workers: workers, scale: scale, scaleRows: scaleRows, idleSeconds: idleSeconds,
                                  pickupSamples: pickupSamples) { Terminal.note("bench: \($0)") }
            var configured = bench
            configured.only = Set((only ?? "").split(separator: ",").map(String.init))
            configured.batchJobs = batchJobs
            configured.singleEnqueueCalls = enqueueCalls
            if let db, !StoreAddress.isServerAddress(db) {
                throw QueueError.invalidInput("bench --db takes a postgres:// address (SQLite is always measured, in a temporary folder)")
            }
            var reports = [try configured.run()]
            if let db {
                configured.server = db
                reports.append(try configured.run())
            }
            if json {
                Terminal.printJSON(reports.count == 1 ? reports[0].json : .object(reports.map { ($0.store, $0.json) }))
            } else {
                print(reports.count == 1 ? reports[0].table : BenchmarkReport.sideBySide(reports))
            }
        }
    }
}
