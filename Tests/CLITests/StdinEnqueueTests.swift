import Foundation
import QueueCore
import QueueSQLite
import Testing
import TestSupport

/// `enqueue -` reads stdin safely and in bounded memory: an unreadable stdin is one
/// error line, and a big batch does not hold its input many times over.
@Suite struct StdinEnqueueTests {
    @Test(arguments: ["a directory", "closed"])
    func anUnreadableStdinIsOneErrorLine(kind: String) throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"before","command":"true"}"#)
        let input: SpawnInput = kind == "closed" ? .closed : .path(sandbox.directory)
        let (result, _) = try QueueSandbox.spawnMeasured(QueueSandbox.binaryPath, ["enqueue", "-", "--db", sandbox.address],
                                                         stdin: input, timeout: 30)
        #expect(result.status == 64, "\(result)")
        #expect(result.stdout.isEmpty, "\(result)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("error: ") && !result.stderr.contains("Fatal"), "\(result)")
        #expect(try sandbox.json(["list"]).arrayValue?.count == 1, "nothing was enqueued")
    }

    /// 100,000 jobs (about 7 MB of JSON lines): before streaming the call peaked at
    /// about 9 times its input on top of its base size.
    @Test func aBigBatchIsEnqueuedInBoundedMemory() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let count = 100_000
        var text = ""
        text.reserveCapacity(count * 72)
        for i in 0..<count { text += "{\"command\":\"echo processing item \(i) of the batch\",\"priority\":\(i % 5)}\n" }
        let input = sandbox.path("jobs.jsonl")
        try text.write(toFile: input, atomically: false, encoding: .utf8)
        let inputKiB = text.utf8.count / 1024
        let small = sandbox.path("one.jsonl")
        try "{\"command\":\"true\"}\n".write(toFile: small, atomically: false, encoding: .utf8)

        let (base, baseKiB) = try QueueSandbox.spawnMeasured(QueueSandbox.binaryPath, ["enqueue", "-", "--db", sandbox.address],
                                                             stdin: .path(small), timeout: 60)
        #expect(base.status == 0, "\(base)")
        let (big, bigKiB) = try QueueSandbox.spawnMeasured(QueueSandbox.binaryPath, ["enqueue", "-", "--db", sandbox.address],
                                                           stdin: .path(input), timeout: 120)
        #expect(big.status == 0, "\(big.stderr)")
        let ids = big.stdout.split(separator: "\n")
        #expect(ids.count == count && Set(ids).count == count, "one id per job")
        #expect(try sandbox.counts()["pending"] == count + 1)
        // The page cache of SQLite grows with the pages the batch writes, the rest
        // must not: growth stays well below twice the input.
        print("enqueue - peak \(bigKiB) KiB for \(inputKiB) KiB of input (base \(baseKiB) KiB)")
        #expect(bigKiB - baseKiB < 2 * inputKiB, "peak \(bigKiB) KiB for \(inputKiB) KiB of input (base \(baseKiB) KiB)")
    }

    @Test func aBadJobLateInABigBatchEnqueuesNothing() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        var text = ""
        for i in 0..<5000 { text += "{\"command\":\"echo \(i)\"}\n" }
        text += "{\"command\":\"echo late\",\"priority\":\"high\"}\n"
        let result = try sandbox.run(["enqueue", "-"], stdin: text)
        #expect(result.status == 64, "\(result)")
        #expect(result.stderr.contains("job 5001"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(try sandbox.counts()["pending"] == 0)
    }

    @Test func jsonOutputOfABatchIsOneArray() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        var text = "["
        for i in 0..<3000 { text += (i == 0 ? "" : ",\n") + "{\"id\":\"j\(i)\",\"command\":\"echo \(i)\"}" }
        text += "]"
        let result = try sandbox.ok(["enqueue", "-", "--json"], stdin: text)
        let jobs = try #require(try JSONValue.parse(result.stdout).arrayValue)
        #expect(jobs.count == 3000)
        #expect(jobs.last?["id"]?.stringValue == "j2999" && jobs.last?["state"]?.stringValue == "pending")
    }
}
