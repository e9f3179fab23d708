import Foundation
import QueueCore
import Testing
import TestSupport

/// Many workers in several `worker start` groups run every job exactly once, while
/// several processes enqueue at the same time without ever seeing "database is locked".
@Suite struct ConcurrencyTests {
    @Test func manyWorkersRunEveryJobExactlyOnce() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let marker = sandbox.path("marker")
        let job = #"{"command":"echo $QUEUECTL_JOB_ID >> \#(marker)"}"#
        let batch = Array(repeating: job, count: 150).joined(separator: "\n")

        try sandbox.startWorkers(2)
        var ids = try sandbox.ok(["enqueue", "-"], stdin: batch).lines
        try sandbox.startWorkers(2)
        ids += try sandbox.ok(["enqueue", "-"], stdin: batch).lines
        #expect(ids.count == 300)
        #expect(Set(ids).count == 300)
        #expect(try sandbox.json(["worker", "list"]).arrayValue?.count == 4)

        let drained = try QueueSandbox.waitUntil(timeout: 60) { try sandbox.counts()["completed"] == 300 }
        #expect(drained, "counts: \(String(describing: try? sandbox.counts()))")
        let ran = sandbox.lines(of: "marker")
        #expect(ran.count == 300, "marker has \(ran.count) lines for 300 jobs")
        #expect(Set(ran) == Set(ids))
        var seen: [String: Int] = [:]
        for id in ran { seen[id, default: 0] += 1 }
        #expect(seen.filter { $0.value > 1 }.isEmpty, "ran more than once: \(seen.filter { $0.value > 1 })")

        let completed = try #require(try sandbox.json(["list", "--state", "completed", "--limit", "100000"]).arrayValue)
        #expect(completed.count == 300)
        #expect(completed.allSatisfy { $0["attempts"]?.intValue == 1 })
        // Every worker took part (none of the two groups was starved).
        let done = try #require(try sandbox.json(["worker", "list"]).arrayValue).compactMap { $0["jobs_done"]?.intValue }
        #expect(done.count == 4 && done.reduce(0, +) == 300, "jobs_done: \(done)")
        #expect(try sandbox.counts() == ["pending": 0, "processing": 0, "completed": 300, "failed": 0, "dead": 0, "scheduled": 0, "blocked": 0, "cancelled": 0])
    }

    @Test func concurrentEnqueuersNeverSeeALockAndLoseNothing() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.startWorkers(2)
        let results = Results()
        let producers = 6
        DispatchQueue.concurrentPerform(iterations: producers) { p in
            for i in 0..<8 {
                let r = Result { try sandbox.run(["enqueue", #"{"id":"p\#(p)-\#(i)","command":"true"}"#]) }
                results.add(r)
            }
            // And one batch each.
            let batch = (0..<25).map { #"{"id":"p\#(p)-b\#($0)","command":"true"}"# }.joined(separator: "\n")
            results.add(Result { try sandbox.run(["enqueue", "-"], stdin: batch) })
        }
        let all = results.all
        #expect(all.count == producers * 9)
        for r in all {
            switch r {
            case let .success(out):
                #expect(out.status == 0, "\(out)")
                #expect(!out.stderr.localizedCaseInsensitiveContains("locked"), "\(out)")
            case let .failure(error):
                Issue.record("enqueue did not run: \(error)")
            }
        }
        let expected = producers * (8 + 25)
        let jobs = try #require(try sandbox.json(["list", "--limit", "100000"]).arrayValue)
        #expect(jobs.count == expected)
        let ids = Set(jobs.compactMap { $0["id"]?.stringValue })
        for p in 0..<producers {
            for i in 0..<8 { #expect(ids.contains("p\(p)-\(i)")) }
            for b in 0..<25 { #expect(ids.contains("p\(p)-b\(b)")) }
        }
        #expect(QueueSandbox.waitUntil(timeout: 30) { (try? sandbox.counts()["completed"]) == expected })
    }
}

final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Result<CLIResult, Error>] = []
    func add(_ r: Result<CLIResult, Error>) { lock.withLock { items.append(r) } }
    var all: [Result<CLIResult, Error>] { lock.withLock { items } }
}
