import Foundation
import QueueCore
import QueueRunner

/// Real worker processes on a scratch database, for the drain, pickup and idle
/// phases.
final class LiveWorkers {
    let store: any JobStore
    let supervisor: WorkerSupervisor
    let workers: [WorkerRecord]
    /// A scratch folder of this phase (the pickup FIFO).
    let root: String
    /// The queue's address, for `queuectl … --db`.
    let address: StoreAddress
    private var stopped = false

    init(queues: BenchQueues, name: String, count: Int, executable: String) throws {
        root = queues.root + "/" + name
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        address = queues.address(name)
        store = try queues.open(name)
        supervisor = WorkerSupervisor(address: address, executable: executable)
        workers = try supervisor.startBackground(count: count)
    }

    private var completedBefore = 0

    /// Enqueues `jobs` trivial jobs at once and returns the seconds from before the
    /// enqueue to the end of the last run (as the workers record it, to the
    /// millisecond). Completion is polled every 50 ms: every poll is a read the
    /// workers' CPU pays for, and the end time does not depend on it.
    func drainSeconds(jobs: Int) throws -> Double {
        let specs = try (0..<jobs).map { _ in try JobSpec(command: "true") }
        let target = completedBefore + jobs
        let start = Timestamp.now()
        _ = try store.enqueue(specs, now: start)
        while true {
            usleep(50_000)
            let counts = try store.counts()
            if counts[.dead] > 0 { throw BenchmarkError("a benchmark job failed; see \(root)") }
            if counts[.completed] >= target { break }
        }
        completedBefore = target
        guard let end = try store.lastRunFinishedAt() else { throw BenchmarkError("no run recorded; see \(root)") }
        return end.seconds(since: start)
    }

    /// Time from an enqueue's commit to its job's process running, measured with a
    /// FIFO the job writes to.
    func pickupLatency(samples: Int) throws -> (p50: Double, p99: Double) {
        let fifo = root + "/pickup.fifo"
        unlink(fifo)
        guard mkfifo(fifo, 0o600) == 0 else { throw BenchmarkError("cannot create \(fifo)") }
        let fd = open(fifo, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw BenchmarkError("cannot open \(fifo)") }
        defer { close(fd) }
        let spec = try JobSpec(command: "echo > \(fifo)")
        var latencies: [Double] = []
        var byte = [UInt8](repeating: 0, count: 16)
        for _ in 0..<samples {
            usleep(20_000)   // let the workers go idle again
            _ = try store.enqueue([spec], now: .now())
            let start = ProcessTools.monotonic()
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 5000) > 0 else { throw BenchmarkError("a pickup job did not start within 5 s") }
            latencies.append(ProcessTools.monotonic() - start)
            _ = read(fd, &byte, byte.count)
        }
        return (ProcessTools.percentile(latencies, 0.5), ProcessTools.percentile(latencies, 0.99))
    }

    /// CPU use (percent of one core) and RSS of the busiest idle worker.
    func idleUsage(seconds: Double) -> (cpuPercent: Double, rssMiB: Double) {
        let before = workers.map { ProcessTools.cpuSeconds(pid: $0.pid) ?? 0 }
        let start = ProcessTools.monotonic()
        usleep(useconds_t(seconds * 1_000_000))
        let elapsed = ProcessTools.monotonic() - start
        let after = workers.map { ProcessTools.cpuSeconds(pid: $0.pid) ?? 0 }
        let cpu = zip(before, after).map { ($1 - $0) / elapsed * 100 }.max() ?? 0
        let rss = workers.compactMap { ProcessTools.rssMiB(pid: $0.pid) }.max() ?? 0
        return (cpu, rss)
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        _ = try? supervisor.stop(wait: true, timeout: 30)
    }
}
