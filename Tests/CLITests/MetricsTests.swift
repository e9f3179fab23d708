import Foundation
import QueueCore
import QueueSQLite
import Testing
import TestSupport

/// `queuectl metrics`: the figures match `status --json` on a real queue, the
/// output is valid Prometheus text (checked by the reference Python parser), and
/// a missing database is an error that creates nothing.
@Suite struct MetricsTests {
    @Test func metricsMatchStatusOnARealQueue() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let release = sandbox.path("release")
        try sandbox.configure([("backoff-base", "1000")])
        try sandbox.enqueue(#"{"id":"p","command":"true","delay":3600}"#)
        try sandbox.enqueue(#"{"id":"c","command":"true"}"#)
        try sandbox.enqueue(#"{"id":"f","command":"false","max_retries":1}"#)
        try sandbox.enqueue(#"{"id":"d","command":"false","max_retries":0}"#)
        try sandbox.enqueue(#"{"id":"r","command":"while [ ! -f \#(release) ]; do sleep 0.05; done","priority":-1}"#)
        try sandbox.startWorkers(2)
        try sandbox.waitForState("r", "processing")
        for (id, state) in [("c", "completed"), ("f", "failed"), ("d", "dead")] { try sandbox.waitForState(id, state) }

        let status = try sandbox.json(["status"])
        let samples = try Exposition(try sandbox.ok(["metrics"]).stdout)
        for state in ["pending", "processing", "completed", "failed", "dead"] {
            #expect(samples[#"queuectl_jobs{state="\#(state)"}"#] == Double(status["jobs"]?[state]?.intValue ?? -1), "\(state)")
        }
        let workerStates = (status["workers"]?.arrayValue ?? []).compactMap { $0["state"]?.stringValue }
        for state in ["idle", "busy", "stopping"] {
            #expect(samples[#"queuectl_workers{state="\#(state)"}"#] == Double(workerStates.filter { $0 == state }.count), "\(state)")
        }
        #expect(samples[#"queuectl_workers{state="busy"}"#] == 1)
        // c succeeded; f and d failed once each; r's run is still going and not counted.
        #expect(samples[#"queuectl_runs_total{outcome="succeeded"}"#] == 1)
        #expect(samples[#"queuectl_runs_total{outcome="failed"}"#] == 2)
        #expect(samples[#"queuectl_runs_total{outcome="timed_out"}"#] == 0)
        #expect(samples[#"queuectl_run_duration_seconds_count"#] == 3)
        #expect(samples[#"queuectl_run_duration_seconds_bucket{le="+Inf"}"#] == 3)
        #expect(samples[#"queuectl_run_duration_seconds_bucket{le="5"}"#] == 3, "true and false take well under 5 s")
        let buckets = samples.values(startingWith: "queuectl_run_duration_seconds_bucket{")
        #expect(buckets.count == 17 && buckets == buckets.sorted(), "cumulative buckets never decrease: \(buckets)")
        // The only pending job is not due for an hour, and f waits for its backoff: nobody waits.
        #expect(samples["queuectl_queue_latency_seconds"] == 0)
        #expect(samples[#"queuectl_build_info{version="\#(try sandbox.ok(["version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))"}"#] == 1)

        #expect(FileManager.default.createFile(atPath: release, contents: nil))
        try sandbox.waitForState("r", "completed")
        let after = try Exposition(try sandbox.ok(["metrics"]).stdout)
        #expect(after[#"queuectl_runs_total{outcome="succeeded"}"#] == 2)
        #expect(after[#"queuectl_run_duration_seconds_count"#] == 4)
        #expect(after[#"queuectl_jobs{state="processing"}"#] == 0)
    }

    @Test func queueLatencyIsTheAgeOfTheOldestDueJob() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"later","command":"true","delay":3600}"#)
        #expect(try Exposition(try sandbox.ok(["metrics"]).stdout)["queuectl_queue_latency_seconds"] == 0)
        try sandbox.enqueue(#"{"id":"low","command":"true","priority":-5}"#)
        usleep(200_000)
        try sandbox.enqueue(#"{"id":"high","command":"true","priority":5}"#)
        // The oldest due job is the low-priority one, though it is not next to run.
        let latency = try #require(try Exposition(try sandbox.ok(["metrics"]).stdout)["queuectl_queue_latency_seconds"])
        #expect(latency >= 0.2 && latency < 60, "latency \(latency)")
    }

    @Test func outputParsesWithThePrometheusReferenceParser() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"x","command":"true"}"#)
        let text = try sandbox.ok(["metrics"]).stdout
        let python = try #require(Self.pythonWithPrometheusClient(),
                                  "needs python3 with prometheus_client (pip install prometheus_client; .ci/run installs it)")
        let script = """
            import sys
            from prometheus_client.parser import text_string_to_metric_families
            for family in text_string_to_metric_families(sys.stdin.read()):
                print(family.name, family.type, len(family.samples))
            """
        let parsed = try QueueSandbox.exec(python, ["-c", script], stdin: Data(text.utf8))
        #expect(parsed.status == 0, "parser rejected the output: \(parsed.stderr)\n\(text)")
        #expect(parsed.lines == [
            "queuectl_jobs gauge \(JobState.allCases.count)",
            "queuectl_runs counter \(RunOutcome.allCases.count)",
            "queuectl_run_duration_seconds histogram 19",
            "queuectl_queue_latency_seconds gauge 1",
            "queuectl_workers gauge 3",
            "queuectl_build_info gauge 1",
        ])
    }

    @Test func missingDatabaseIsAnErrorAndIsNotCreated() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it is about a missing database file (exit 3, nothing created).
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let result = try sandbox.run(["metrics"])
        #expect(result.status == 3)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("error: no database at \(db)"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: db))
        let elsewhere = sandbox.path("no-such-folder/q.db")
        #expect(try sandbox.run(["metrics", "--db", elsewhere]).status != 0)
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("no-such-folder")))
    }

    @Test func versionCommandMatchesVersionFlag() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it checks that version creates no database file.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let flag = try sandbox.ok(["--version"]).stdout
        #expect(!flag.isEmpty)
        #expect(try sandbox.ok(["version"]).stdout == flag)
        let json = try sandbox.json(["version"])
        #expect(json["version"]?.stringValue == flag.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(json.keys == ["version", "build", "sqlite", "os", "arch"])
        #expect(json["sqlite"]?.stringValue?.hasPrefix("3.") == true)
        #expect(!FileManager.default.fileExists(atPath: db), "version needs no database")
    }

    /// A python3 that can import prometheus_client (the one on PATH, else Debian's).
    static func pythonWithPrometheusClient() -> String? {
        [which("python3"), "/usr/bin/python3"].compactMap { $0 }.first { python in
            (try? QueueSandbox.exec(python, ["-c", "import prometheus_client"]))?.status == 0
        }
    }

    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// The samples of a Prometheus text exposition, by series (`name{labels}`).
struct Exposition {
    private(set) var series: [(key: String, value: Double)] = []

    init(_ text: String) throws {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                throw TestFailure("not a sample line: \(line)")
            }
            series.append((String(line[..<space]), value))
        }
    }

    subscript(key: String) -> Double? { series.first { $0.key == key }?.value }

    func values(startingWith prefix: String) -> [Double] { series.filter { $0.key.hasPrefix(prefix) }.map(\.value) }
}
