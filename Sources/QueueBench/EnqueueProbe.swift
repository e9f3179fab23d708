import Foundation
import QueueCore

/// Times `queuectl enqueue` as users call it: one big `enqueue -` batch, and single
/// calls (process start included).
struct EnqueueProbe {
    let executable: String
    let queues: BenchQueues
    let root: String

    init(executable: String, queues: BenchQueues) throws {
        self.executable = executable
        self.queues = queues
        root = queues.root + "/enqueue"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    /// Jobs per second of one `enqueue -` of `count` JSON lines (wall time of the call).
    func batch(count: Int) throws -> Double {
        let input = root + "/batch.jsonl"
        var text = ""
        text.reserveCapacity(count * 40)
        for i in 0..<count { text += "{\"id\":\"b\(i)\",\"command\":\"true\",\"priority\":\(i % 5)}\n" }
        try text.write(toFile: input, atomically: false, encoding: .utf8)
        _ = try queues.open("batch")   // create the queue first
        defer { queues.remove("batch") }
        let db = queues.address("batch").argument
        let (status, seconds) = try ProcessTools.run(executable, ["enqueue", "-", "--db", db], stdinPath: input)
        guard status == 0 else { throw BenchmarkError("enqueue - exited with \(status)") }
        return Double(count) / seconds
    }

    /// Median wall time of `calls` sequential single `queuectl enqueue` calls.
    func singleMedian(calls: Int) throws -> Double {
        _ = try queues.open("single")
        defer { queues.remove("single") }
        let db = queues.address("single").argument
        var times: [Double] = []
        for _ in 0..<calls {
            let (status, seconds) = try ProcessTools.run(executable, ["enqueue", "{\"command\":\"true\"}", "--db", db])
            guard status == 0 else { throw BenchmarkError("enqueue exited with \(status)") }
            times.append(seconds)
        }
        return ProcessTools.median(times)
    }
}

/// The same operations on a small table and on one with `rows` jobs (mostly
/// completed), to show that nothing the queue does grows with its history. The
/// small one (`scale-empty`, "empty table" in the report's claim and enqueue rows)
/// holds a hundredth of `rows`, all pending, so that claims find work.
struct ScaleProbe {
    let executable: String
    let queues: BenchQueues
    let rows: Int

    init(executable: String, queues: BenchQueues, rows: Int) {
        self.executable = executable
        self.queues = queues
        self.rows = rows
    }

    struct Result {
        var status: Double
        var list: Double
        /// The same two commands on the small table: what a command costs whatever
        /// the table holds (starting the process, connecting, printing).
        var statusSmall: Double
        var listSmall: Double
        var claimEmpty: Double
        var claimFull: Double
        var enqueueEmpty: Double
        var enqueueFull: Double
    }

    func run() throws -> Result {
        defer { queues.remove("scale-empty"); queues.remove("scale-full") }
        let empty = queues.address("scale-empty").argument
        let full = queues.address("scale-full").argument
        try queues.seeding(try queues.open("scale-full")).seedForBenchmark(count: rows, pendingEvery: 100, now: .now())
        // Claims are timed on connections set up like a worker's (synchronous=NORMAL).
        let emptyStore = try queues.openAsWorker("scale-empty")
        let fullStore = try queues.openAsWorker("scale-full")
        for store in [emptyStore] {
            _ = try store.enqueue(try (0..<(rows / 100)).map { _ in try JobSpec(command: "true") }, now: .now())
        }
        // status and list, on each table, alternate, so none is measured in a calmer
        // or busier moment than another (the seeding's writes are still being flushed).
        func time(_ arguments: [String], _ db: String) throws -> Double {
            try ProcessTools.run(executable, arguments + ["--db", db]).1
        }
        let listArguments = ["list", "--state", "pending", "--limit", "50"]
        var statusTimes: [Double] = [], listTimes: [Double] = [], statusSmallTimes: [Double] = [], listSmallTimes: [Double] = []
        for _ in 0..<15 {
            statusTimes.append(try time(["status"], full))
            listTimes.append(try time(listArguments, full))
            statusSmallTimes.append(try time(["status"], empty))
            listSmallTimes.append(try time(listArguments, empty))
        }
        // Alternating calls, so a machine that speeds up or slows down meanwhile
        // does not bias the ratio of the two.
        let enqueueArguments = ["enqueue", "{\"command\":\"true\"}"]
        var emptyTimes: [Double] = [], fullTimes: [Double] = []
        for _ in 0..<21 {
            emptyTimes.append(try time(enqueueArguments, empty))
            fullTimes.append(try time(enqueueArguments, full))
        }
        let enqueueEmpty = ProcessTools.median(emptyTimes)
        let enqueueFull = ProcessTools.median(fullTimes)
        let (claimEmpty, claimFull) = try claimTimes(emptyStore, fullStore)
        return Result(status: ProcessTools.median(statusTimes), list: ProcessTools.median(listTimes),
                      statusSmall: ProcessTools.median(statusSmallTimes), listSmall: ProcessTools.median(listSmallTimes),
                      claimEmpty: claimEmpty, claimFull: claimFull,
                      enqueueEmpty: enqueueEmpty, enqueueFull: enqueueFull)
    }

    /// Median time of one claim transaction (each followed by recording its
    /// result) on each store, the two alternating claim by claim like the enqueues.
    private func claimTimes(_ empty: any JobStore, _ full: any JobStore) throws -> (empty: Double, full: Double) {
        let now = Timestamp.now()
        let worker = WorkerRecord(id: "bench-\(UUID().uuidString.prefix(6))", pid: Int(getpid()), pidStartTicks: 0,
                                  hostname: "bench", startedAt: now, heartbeatAt: now)
        for store in [empty, full] { try store.registerWorker(worker) }
        var times: [[Double]] = [[], []]
        // Both tables hold rows/100 pending jobs; time at most 300 claims on each.
        for _ in 0..<min(300, max(1, rows / 100)) {
            for (index, store) in [empty, full].enumerated() {
                let start = ProcessTools.monotonic()
                let outcome = try store.claim(workerID: worker.id, now: .now())
                times[index].append(ProcessTools.monotonic() - start)
                guard case let .claimed(claimed) = outcome else { throw BenchmarkError("scale phase ran out of pending jobs") }
                _ = try store.finish(claimed, workerID: worker.id, result: RunResult(outcome: .succeeded, exitCode: 0), now: .now())
            }
        }
        for store in [empty, full] { try store.deregisterWorker(id: worker.id) }
        return (ProcessTools.median(times[0]), ProcessTools.median(times[1]))
    }
}
