import CQueueSys
import Foundation
import QueueCore
import QueueRunner

/// `queuectl bench`: measures the queue's own overhead against the floor set by
/// spawning `/bin/sh -c true`, always on scratch databases in a temporary folder.
public struct Benchmark {
    public var jobs: Int
    public var workers: Int
    public var scale: Bool
    /// Rows in the big table of the `--scale` phase.
    public var scaleRows: Int
    /// Seconds idle workers are watched for CPU use.
    public var idleSeconds: Double
    /// Sequential enqueues of the pickup-latency phase.
    public var pickupSamples: Int
    /// Jobs in the `enqueue -` batch, and single `enqueue` calls timed.
    public var batchJobs = 100_000
    public var singleEnqueueCalls = 30
    public var executable: String
    public var progress: (String) -> Void
    /// Phases to run (all when empty): drain, overhead, enqueue, scale, backlog (the last two with `scale`).
    public var only: Set<String> = []
    /// A `postgres://` address to measure on, in scratch schemas of that database
    /// (nil: SQLite files in a temporary folder).
    public var server: String?

    public init(jobs: Int, workers: Int, scale: Bool, scaleRows: Int = 1_000_000, idleSeconds: Double = 10,
                pickupSamples: Int = 300, executable: String = ProcessIdentity.currentExecutable,
                progress: @escaping (String) -> Void = { _ in }) {
        self.jobs = jobs
        self.workers = workers
        self.scale = scale
        self.scaleRows = scaleRows
        self.idleSeconds = idleSeconds
        self.pickupSamples = pickupSamples
        self.executable = executable
        self.progress = progress
    }

    public func run() throws -> BenchmarkReport {
        let ticksAtStart = ProcessTools.cpuTicks()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("queuectl-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }

        let queues = BenchQueues(server: server, root: root)
        let probe = try queues.open("probe")
        let engine = try queues.seeding(probe).benchmarkDescription()
        queues.remove("probe")
        var report = BenchmarkReport(
            machine: ProcessTools.machineDescription(),
            sqlite: engine,
            durability: server == nil ? "enqueue synchronous=FULL (fsync per commit); workers synchronous=NORMAL"
                                      : "enqueue synchronous_commit as the server sets it; workers synchronous_commit=off",
            jobs: jobs, workers: workers)
        report.store = queues.label

        let t = Targets(server: server != nil)
        func wanted(_ phase: String) -> Bool { only.isEmpty || only.contains(phase) }
        if wanted("drain") {
        // Floor and drain alternate in ten rounds of a tenth of the jobs each, and
        // each figure is its total over its rounds: this machine's speed varies by
        // a fifth from one second to the next, so the ratio compares the two over
        // the same stretch of time.
        progress("spawn floor and drain: \(workers) threads × posix_spawn(/bin/sh -c true), then \(jobs) jobs on \(workers) worker processes, in 10 alternating rounds…")
        let live = try LiveWorkers(queues: queues, name: "drain", count: workers, executable: executable)
        defer { live.stop(); queues.remove("drain") }
        let rounds = min(10, jobs)
        var spawned = 0, floorSeconds = 0.0, drainSeconds = 0.0
        for round in 0..<rounds {
            let share = jobs / rounds + (round < jobs % rounds ? 1 : 0)
            let floorRound = SpawnFloor.run(threads: workers, spawns: max(share, 100))
            spawned += floorRound.spawns
            floorSeconds += floorRound.seconds
            drainSeconds += try live.drainSeconds(jobs: share)
        }
        let floor = Double(spawned) / floorSeconds
        let drain = Double(jobs) / drainSeconds
        report.measurements.append(Measurement("spawn_floor", "spawn floor (W=\(workers))", floor, "jobs/s"))
        let ratio = drain / floor * 100
        report.measurements.append(Measurement("drain", "drain (N=\(jobs), W=\(workers))", drain, "jobs/s"))
        report.measurements.append(Measurement("drain_vs_floor", "drain / spawn floor", ratio, "%", target: "≥ \(Int(t.drainPercent))%", met: ratio >= t.drainPercent))

        progress("pickup latency: \(pickupSamples) spaced enqueues to idle workers…")
        let pickup = try live.pickupLatency(samples: pickupSamples)
        report.measurements.append(Measurement("pickup_p50", "pickup latency p50", pickup.p50 * 1000, "ms", target: "≤ \(Int(t.pickupP50 * 1000)) ms", met: pickup.p50 <= t.pickupP50))
        report.measurements.append(Measurement("pickup_p99", "pickup latency p99", pickup.p99 * 1000, "ms", target: "≤ \(Int(t.pickupP99 * 1000)) ms", met: pickup.p99 <= t.pickupP99))

        progress("idle workers: CPU over \(Int(idleSeconds)) s…")
        let idle = live.idleUsage(seconds: idleSeconds)
        report.measurements.append(Measurement("idle_cpu", "idle worker CPU (max)", idle.cpuPercent, "% of a core", target: "< 1%", met: idle.cpuPercent < 1))
        report.measurements.append(Measurement("idle_rss", "idle worker RSS (max)", idle.rssMiB, "MiB", target: "≤ 25 MiB", met: idle.rssMiB <= 25))
        live.stop()
        }

        if wanted("overhead") {
        progress("queue overhead: claim + record result in-process…")
        // Median of three runs on fresh databases: one run swings by a fifth with
        // the disk's fsync latency (the checkpoints are counted in).
        let runs = try (0..<3).map { try QueueOverhead.measure(queues: queues, name: "overhead-\($0)", jobs: max(jobs, 2000)) }
        let overhead = runs.sorted()[1]
        report.measurements.append(Measurement("queue_overhead", "queue overhead (claim + result, median of 3)", overhead * 1e6, "µs/job",
                                                target: t.overhead.map { "≤ \(Int($0 * 1e6)) µs" }, met: t.overhead.map { overhead <= $0 }))
        }

        if wanted("enqueue") {
        progress("enqueue: batch through `enqueue -` and single calls…")
        let enqueue = try EnqueueProbe(executable: executable, queues: queues)
        let batchSize = batchJobs
        let batch = try enqueue.batch(count: batchSize)
        report.measurements.append(Measurement("enqueue_batch", "enqueue - batch (\(batchSize) jobs)", batch, "jobs/s", target: "≥ \(Int(t.batch)) jobs/s", met: batch >= t.batch))
        // The batch leaves a hundred megabytes of dirty pages; flush them first, or
        // their writeback would land on the single calls' fsyncs.
        sync()
        let single = try enqueue.singleMedian(calls: singleEnqueueCalls)
        report.measurements.append(Measurement("enqueue_single", "single enqueue call (median)", single * 1000, "ms",
                                                target: t.singleEnqueue.map { "≤ \(Int($0 * 1000)) ms" }, met: t.singleEnqueue.map { single <= $0 }))
        }

        if scale && wanted("scale") {
            progress("scale: \(scaleRows) rows…")
            let s = try ScaleProbe(executable: executable, queues: queues, rows: scaleRows).run()
            // The small table (``ScaleProbe``'s "empty" one) holds a hundredth of the rows, all pending.
            let small = scaleRows / 100 >= 1000 ? "\(scaleRows / 100_000)k" : "\(scaleRows / 100)"
            report.measurements.append(Measurement("small_status", "status at \(small) rows", s.statusSmall * 1000, "ms"))
            report.measurements.append(Measurement("small_list", "list --state pending --limit 50 at \(small)", s.listSmall * 1000, "ms"))
            report.measurements.append(Measurement("scale_status", "status at \(scaleRows / 1000)k rows", s.status * 1000, "ms", target: "≤ 20 ms", met: s.status <= 0.020))
            report.measurements.append(Measurement("scale_list", "list --state pending --limit 50 at \(scaleRows / 1000)k", s.list * 1000, "ms", target: "≤ 20 ms", met: s.list <= 0.020))
            report.measurements.append(Measurement("claim_empty", "claim, empty table", s.claimEmpty * 1e6, "µs"))
            report.measurements.append(Measurement("claim_scale", "claim at \(scaleRows / 1000)k rows", s.claimFull * 1e6, "µs", target: "≤ 1.2× empty", met: s.claimFull <= 1.2 * s.claimEmpty))
            report.measurements.append(Measurement("enqueue_empty", "single enqueue, empty table", s.enqueueEmpty * 1000, "ms"))
            report.measurements.append(Measurement("enqueue_scale", "single enqueue at \(scaleRows / 1000)k rows", s.enqueueFull * 1000, "ms", target: "≤ 1.2× empty", met: s.enqueueFull <= 1.2 * s.enqueueEmpty))
        }
        if scale && wanted("backlog") {
            let b = try BacklogProbe(executable: executable, queues: queues, futureJobs: scaleRows, workers: workers,
                                     pickupSamples: pickupSamples, idleSeconds: idleSeconds).run(progress: progress)
            let rows = "\(scaleRows / 1000)k"
            report.measurements.append(Measurement("backlog_pickup_p50", "pickup p50, \(rows) future + \(rows) done", b.pickupP50 * 1000, "ms", target: "≤ 5 ms", met: b.pickupP50 <= 0.005))
            report.measurements.append(Measurement("backlog_pickup_p99", "pickup p99, \(rows) future + \(rows) done", b.pickupP99 * 1000, "ms", target: "≤ 20 ms", met: b.pickupP99 <= 0.020))
            report.measurements.append(Measurement("backlog_idle_cpu", "idle worker CPU, \(rows) future", b.idleCPU, "% of a core", target: "< 1%", met: b.idleCPU < 1))
            report.measurements.append(Measurement("backlog_enqueue_empty", "single enqueue, empty table, workers up", b.enqueueEmpty * 1000, "ms"))
            report.measurements.append(Measurement("backlog_enqueue", "single enqueue, \(rows) future, workers up", b.enqueueBacklog * 1000, "ms", target: "≤ 1.2× empty", met: b.enqueueBacklog <= 1.2 * b.enqueueEmpty))
        }
        // On a virtual machine, time the host gave to other guests is time every
        // figure above waited: a run with much of it is a run to repeat.
        if let start = ticksAtStart, let end = ProcessTools.cpuTicks() {
            report.measurements.append(Measurement("cpu_steal", "CPU time taken by the host (steal)",
                                                    ProcessTools.stealPercent(from: start, to: end), "%"))
        }
        return report
    }
}

/// What each store is held to. PostgreSQL shares the two cores with its server
/// and pays a network round trip per statement, so its latency and drain targets
/// are its own (see the README's "Several machines").
struct Targets {
    var drainPercent = 85.0
    var pickupP50 = 0.005
    var pickupP99 = 0.020
    var overhead: Double? = 50e-6
    var batch = 100_000.0
    var singleEnqueue: Double? = 0.012

    init(server: Bool) {
        guard server else { return }
        drainPercent = 70
        pickupP50 = 0.010
        pickupP99 = 0.050
        overhead = nil
        batch = 50_000
        singleEnqueue = nil
    }
}

/// W threads each spawning `/bin/sh -c true` and waiting: the most any queue of
/// shell commands could drain on this machine.
enum SpawnFloor {
    /// Spawns about `spawns` shells on `threads` threads; returns how many and the time taken.
    static func run(threads: Int, spawns: Int) -> (spawns: Int, seconds: Double) {
        let perThread = max(1, spawns / threads)
        let group = DispatchGroup()
        let start = ProcessTools.monotonic()
        for _ in 0..<threads {
            group.enter()
            Thread.detachNewThread {
                var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup("true"), nil]
                defer { argv.forEach { free($0) } }
                for _ in 0..<perThread {
                    var pid: pid_t = 0
                    if posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ) == 0 {
                        var status: Int32 = 0
                        waitpid(pid, &status, 0)
                    }
                }
                group.leave()
            }
        }
        group.wait()
        return (perThread * threads, ProcessTools.monotonic() - start)
    }
}
