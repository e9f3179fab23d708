import Foundation
import Testing
import QueueCore
import QueueSQLite
import TestSupport

/// Whatever arrives on the command line or stdin is either rejected with one clear
/// line and nothing written, or stored exactly as given.
@Suite struct HostileInputTests {
    /// Deterministic pseudo-random bytes (so a failure can be replayed).
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state ^ (state >> 33)
        }
    }

    static func cases() -> [Data] {
        var rng = Generator(state: 42)
        var out: [Data] = []
        for length in [1, 7, 64, 512] {
            for _ in 0..<6 { out.append(Data((0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) })) }
        }
        let texts = [
            #"{"command":"echo \ud800"}"#, #"{"command":"a\u0000b"}"#, #"{"command":"ok","command":"twice"}"#,
            #"{"command":123}"#, #"{"command":["ls"]}"#, #"{"command":"x","max_retries":-1}"#,
            #"{"command":"x","max_retries":1e400}"#, #"{"command":"x","priority":99999999999999999999}"#,
            #"{"command":"x","timeout":"soon"}"#, #"{"command":"x","run_at":"yesterday"}"#, #"{"command":"x","delay":-5}"#,
            #"{"command":"x","bogus":1}"#, #"{"id":"a/b","command":"x"}"#, #"{"id":"","command":"x"}"#, "[", "{", "nul\u{0}l",
            String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000),
            #"{"command":""# + String(repeating: "x", count: 10_000_000) + #""}"#,
        ]
        out += texts.map { Data($0.utf8) }
        out.append(Data([0x7B, 0x22, 0x63, 0x6F, 0x6D, 0x6D, 0x61, 0x6E, 0x64, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D]))   // invalid UTF-8
        return out
    }

    @Test func garbageIsRejectedAndNothingIsWritten() throws {
        let sandbox = try QueueSandbox(name: "fuzz")
        // A file store always: it checks the file's contents and integrity with SQL.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.must(["enqueue", #"{"id":"keep","command":"true"}"#])
        for (i, input) in Self.cases().enumerated() {
            let viaStdin = try sandbox.runRaw(["--db", db, "enqueue", "-"], stdin: input, environment: [:], timeout: 60)
            #expect(viaStdin.status == 64, "case \(i): \(viaStdin.status) \(viaStdin.stderr.prefix(200))")
            #expect(viaStdin.stdout.isEmpty && viaStdin.stderr.hasPrefix("error: ") && !viaStdin.stderr.contains("Fatal"), "case \(i)")
        }
        #expect(try sandbox.sql("select group_concat(id) from jobs") == "keep")
        #expect(try sandbox.sql("pragma integrity_check") == "ok")
    }

    @Test func oddButValidJobsAreStoredExactly() throws {
        let sandbox = try QueueSandbox(name: "exact")
        // A file store always: it reads the stored command with SQL.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let command = "printf '%s\\n' \"tab\there\" 'quote\"s' 'emoji ✅ 完成' \"$QUEUECTL_JOB_ID\""
        let json = JSONValue.object([("id", .string("odd-~!@#$%^&*()_+=")), ("command", .string(command)), ("priority", .int(-7))])
        try sandbox.must(["enqueue", json.serialized()])
        let shown = try JSONValue.parse(try sandbox.must(["show", "odd-~!@#$%^&*()_+=", "--json"]).stdout)
        #expect(shown["command"] == .string(command))
        #expect(shown["priority"] == .int(-7))
        let big = String(repeating: "y", count: JobSpec.maximumCommandBytes - 5)
        // Longer than one exec argument may be, so it comes through stdin.
        try sandbox.must(["enqueue", "-"], stdin: JSONValue.object([("id", .string("big")), ("command", .string("# " + big))]).serialized())
        #expect(try sandbox.sql("select length(command) from jobs where id = 'big'") == String(JobSpec.maximumCommandBytes - 3))
    }

    @Test func configRejectsNonsenseAndKeepsTheOldValue() throws {
        let sandbox = try QueueSandbox(name: "config-fuzz")
        defer { sandbox.cleanup() }
        try sandbox.must(["config", "set", "max-retries", "5"])
        for value in ["-1", "1001", "abc", "1.5", "", "5x", "nan", "inf", "99999999999999999999", "\u{0}"] {
            let r = try sandbox.run(["config", "set", "max-retries", value])
            #expect(r.status == 64 && r.stdout.isEmpty && r.stderr.hasPrefix("error: "), "\(value.debugDescription): \(r)")
        }
        for (key, value) in [("backoff-base", "0.5"), ("lease-timeout", "0"), ("lease-timeout", "1.5"), ("output-limit", "12"), ("bogus", "1")] {
            let r = try sandbox.run(["config", "set", key, value])
            #expect(r.status == 64 && r.stderr.hasPrefix("error: "), "\(key)=\(value): \(r)")
        }
        #expect(try sandbox.must(["config", "get", "max-retries"]).stdout == "5\n")
    }

    @Test func hugeBinaryOutputIsCappedWithoutGrowingTheWorker() throws {
        let sandbox = try QueueSandbox(name: "big-output")
        // A file store always: it checks the capped log file beside the database.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.must(["config", "set", "output-limit", "1M"])
        // 100 MB of binary, non-UTF-8 output.
        try sandbox.must(["enqueue", #"{"id":"flood","command":"head -c 100000000 /dev/urandom"}"#])
        try sandbox.must(["worker", "start"])
        let pid = try #require(try sandbox.workerPIDs().first)
        #expect(try QueueSandbox.waitUntil(timeout: 60) { try sandbox.sql("select state from jobs where id = 'flood'") == "completed" })
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let peakKB = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { $0.split(separator: " ").compactMap { Int($0) }.first } ?? Int.max
        #expect(peakKB < 60 * 1024, "worker peak RSS \(peakKB) kB while capturing 100 MB")
        let logs = try sandbox.runRaw(["--db", db, "logs", "flood"], environment: [:], timeout: 30)
        #expect(logs.status == 0)
        #expect(try sandbox.sql("select output_bytes from runs where job_id = 'flood'") == "100000000")
        let files = try FileManager.default.contentsOfDirectory(atPath: db + "-logs").filter { $0.hasPrefix("flood.") }
        let size = try FileManager.default.attributesOfItem(atPath: db + "-logs/" + files[0])[.size] as? Int ?? 0
        #expect(size > 1_048_576 && size < 1_048_576 + 200, "log is the cap plus a note, got \(size)")
    }

    @Test func killedBatchEnqueueIsAllOrNothing() throws {
        let sandbox = try QueueSandbox(name: "batch-kill")
        // A file store always: it resets and counts the jobs table with SQL and checks the file's integrity.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.must(["config", "set", "max-retries", "3"])   // creates the queue
        let lines = (0..<300_000).map { #"{"id":"k\#($0)","command":"true"}"# }.joined(separator: "\n")
        let input = sandbox.directory + "/batch.jsonl"
        try lines.write(toFile: input, atomically: false, encoding: .utf8)
        var outcomes: Set<Int> = []
        for delay in [40_000, 120_000, 250_000, 400_000] as [useconds_t] {
            _ = try sandbox.sql("delete from jobs; update queue_counts set n = 0")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: QueueSandbox.binaryPath)
            p.arguments = ["--db", db, "enqueue", "-"]
            p.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: input))
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let n = Int(try sandbox.sql("select count(*) from jobs")) ?? -1
            #expect(n == 0 || n == 300_000, "a killed batch left \(n) of 300000 jobs")
            outcomes.insert(n)
            #expect(try sandbox.sql("pragma integrity_check") == "ok")
        }
        #expect(outcomes.contains(0), "at least one kill landed before the commit")
    }
}
