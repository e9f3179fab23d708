import Foundation
import QueueCore
import QueueRunner

/// The queue's own cost per job: claim + record result, in-process, no process
/// spawned, on a worker's connection (synchronous=NORMAL), in the transactions a
/// worker running short jobs makes: results and claims of `claim-batch` jobs each.
enum QueueOverhead {
    static func measure(queues: BenchQueues, name: String, jobs: Int) throws -> Double {
        let producer = try queues.open(name)
        defer { queues.remove(name) }
        _ = try producer.enqueue(try (0..<jobs).map { _ in try JobSpec(command: "true") }, now: .now())
        // On SQLite, checkpoints are counted in: this connection runs one after a
        // write that leaves 4000 frames in the WAL, the rule a worker's heartbeat
        // thread follows.
        let store = try queues.open(name)
        let now = Timestamp.now()
        let worker = WorkerRecord(id: "bench", pid: ProcessIdentity.currentPID, pidStartTicks: ProcessIdentity.currentStartTicks,
                                  hostname: ProcessIdentity.hostname, startedAt: now, heartbeatAt: now)
        try store.registerWorker(worker)
        let success = RunResult(outcome: .succeeded, exitCode: 0)
        let batch = try store.config().claimBatch
        let start = ProcessTools.monotonic()
        var done = 0
        var finished: [FinishedRun] = []
        while true {
            let settled = try store.settle(finished, givingBack: [],
                                           request: ClaimRequest(workerID: worker.id, limit: batch, now: .now()), jobsDone: nil)
            guard case let .claimed(first) = settled.next else { break }
            finished = ([first] + settled.ahead).map { FinishedRun(claimed: $0, result: success) }
            done += finished.count
        }
        let elapsed = ProcessTools.monotonic() - start
        guard done == jobs else { throw BenchmarkError("overhead phase ran \(done) of \(jobs) jobs") }
        return elapsed / Double(jobs)
    }
}
