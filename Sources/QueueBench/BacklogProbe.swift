import Foundation
import QueueCore

/// The `--scale` backlog phase: real workers on a table holding `futureJobs` jobs
/// scheduled for later (a share of them retries waiting for their backoff) and as
/// many completed ones, against workers on an empty table. Waiting work that is not
/// due yet must cost a claim, an idle worker and an enqueue nothing.
struct BacklogProbe {
    let executable: String
    let queues: BenchQueues
    let futureJobs: Int
    let workers: Int
    let pickupSamples: Int
    let idleSeconds: Double

    struct Result {
        var pickupP50: Double
        var pickupP99: Double
        var idleCPU: Double
        var enqueueEmpty: Double
        var enqueueBacklog: Double
    }

    func run(progress: (String) -> Void) throws -> Result {
        progress("backlog: seeding \(futureJobs) future jobs and \(futureJobs) completed ones…")
        defer { queues.remove("backlog"); queues.remove("backlog-empty") }
        try queues.seeding(try queues.open("backlog")).seedBacklogForBenchmark(future: futureJobs, completed: futureJobs, now: .now())
        let backlog = try LiveWorkers(queues: queues, name: "backlog", count: workers, executable: executable)
        defer { backlog.stop() }
        let empty = try LiveWorkers(queues: queues, name: "backlog-empty", count: workers, executable: executable)
        defer { empty.stop() }

        progress("backlog: pickup latency, idle CPU and single enqueues beside an empty table…")
        let pickup = try backlog.pickupLatency(samples: pickupSamples)
        let idle = backlog.idleUsage(seconds: idleSeconds)
        // Alternating calls, both tables with awake workers, so a machine that
        // speeds up or slows down meanwhile does not bias the ratio.
        var emptyTimes: [Double] = [], backlogTimes: [Double] = []
        for _ in 0..<21 {
            for live in [empty, backlog] {
                let (status, seconds) = try ProcessTools.run(executable, ["enqueue", "{\"command\":\"true\"}", "--db", live.address.argument])
                guard status == 0 else { throw BenchmarkError("enqueue exited with \(status)") }
                if live === empty { emptyTimes.append(seconds) } else { backlogTimes.append(seconds) }
            }
            usleep(20_000)   // let the workers run the job and go idle again
        }
        return Result(pickupP50: pickup.p50, pickupP99: pickup.p99, idleCPU: idle.cpuPercent,
                      enqueueEmpty: ProcessTools.median(emptyTimes), enqueueBacklog: ProcessTools.median(backlogTimes))
    }
}
