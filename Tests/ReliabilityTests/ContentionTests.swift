import Foundation
import Testing
import QueueCore
import TestSupport

/// Eight workers in three `worker start` groups drain jobs while four processes
/// keep enqueuing: every job runs exactly once and no client sees an error.
@Suite struct ContentionTests {
    @Test func exactlyOnceWithEightWorkersAndFourEnqueuers() throws {
        let sandbox = try QueueSandbox(name: "contention")
        defer { sandbox.cleanup() }
        let marker = sandbox.directory + "/marker"
        for group in [3, 3, 2] { try sandbox.must(["worker", "start", "--count", String(group)]) }
        let producers = 4, batches = 10, perBatch = 50
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: producers) { p in
            for b in 0..<batches {
                let lines = (0..<perBatch).map { i in
                    #"{"id":"p\#(p)-\#(b)-\#(i)","command":"echo $QUEUECTL_JOB_ID >> \#(marker)"}"#
                }
                do {
                    let r = try sandbox.run(["enqueue", "-"], stdin: lines.joined(separator: "\n"))
                    if r.status != 0 || !r.stderr.isEmpty { failures.add("enqueue: \(r)") }
                    let single = try sandbox.run(["enqueue", #"{"id":"s\#(p)-\#(b)","command":"echo $QUEUECTL_JOB_ID >> \#(marker)"}"#])
                    if single.status != 0 { failures.add("enqueue: \(single)") }
                    let status = try sandbox.run(["status", "--json"])
                    if status.status != 0 { failures.add("status: \(status)") }
                } catch {
                    failures.add("\(error)")
                }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")
        let total = producers * batches * (perBatch + 1)
        #expect(try QueueSandbox.waitUntil(timeout: 90) { try sandbox.count("completed") == total })
        let ran = try String(contentsOfFile: marker, encoding: .utf8).split(separator: "\n")
        #expect(ran.count == total, "\(ran.count) runs for \(total) jobs")
        #expect(Set(ran).count == total)
        #expect(try sandbox.store().jobs(state: nil, limit: total + 1).filter { $0.attempts != 1 }.isEmpty)
        #expect(Set(try sandbox.allRuns().map(\.workerID)).count == 8, "all eight workers took part")
    }
}

/// Thread-safe list of failures collected from concurrent producers.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.withLock { items.append(s) } }
    var all: [String] { lock.withLock { items } }
}
