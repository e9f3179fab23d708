import Foundation
import QueueCore
import QueueRunner

/// The queue's own cost per job: claim + record result, in-process, no process
/// spawned, on a worker's connection (synchronous=NORMAL).
enum QueueOverhead {
    static func measure(root: String, jobs: Int) throws -> Double {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let location = DatabaseLocation(path: root + "/queue.db")
        let producer = try SQLiteJobStore(location: location)
        _ = try producer.enqueue(try (0..<jobs).map { _ in try JobSpec(command: "true") }, now: .now())
        // As in a worker: no checkpoints on this connection (the heartbeat thread
        // does them).
        let store = try SQLiteJobStore(location: location, durable: false, autoCheckpoint: false)
        let now = Timestamp.now()
        let worker = WorkerRecord(id: "bench", pid: ProcessIdentity.currentPID, pidStartTicks: ProcessIdentity.currentStartTicks,
                                  hostname: ProcessIdentity.hostname, startedAt: now, heartbeatAt: now)
        try store.registerWorker(worker)
        let success = RunResult(outcome: .succeeded, exitCode: 0)
        let start = ProcessTools.monotonic()
        var done = 0
        var previous: ClaimedJob?
        while true {
            let outcome = try store.finishAndClaim(previous, workerID: worker.id, result: success, now: .now())
            guard case let .claimed(claimed) = outcome.next else { break }
            previous = claimed
            done += 1
            // What a worker's heartbeat thread does concurrently, counted here.
            if done % 256 == 0 { try store.checkpoint() }
        }
        let elapsed = ProcessTools.monotonic() - start
        guard done == jobs else { throw BenchmarkError("overhead phase ran \(done) of \(jobs) jobs") }
        return elapsed / Double(jobs)
    }
}
