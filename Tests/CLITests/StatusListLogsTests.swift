import Foundation
import QueueCore
import Testing
import TestSupport

/// Read commands: `status --json` with every state and the workers, `list`
/// (filters, limits, table), `show`, and `logs` (latest, `--attempt`, `--follow`).
@Suite struct StatusListLogsTests {
    @Test func statusCountsEveryStateAndListsWorkers() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let release = sandbox.path("release")
        try sandbox.configure([("backoff-base", "1000")])
        try sandbox.enqueue(#"{"id":"p","command":"true","delay":3600}"#)
        try sandbox.enqueue(#"{"id":"c","command":"true"}"#)
        try sandbox.enqueue(#"{"id":"f","command":"false","max_retries":1}"#)
        try sandbox.enqueue(#"{"id":"d","command":"false","max_retries":0}"#)
        try sandbox.enqueue(#"{"id":"r","command":"while [ ! -f \#(release) ]; do sleep 0.05; done","priority":-1}"#)
        let started = try sandbox.startWorkers(2)
        try sandbox.waitForState("r", "processing")
        for (id, state) in [("c", "completed"), ("f", "failed"), ("d", "dead")] { try sandbox.waitForState(id, state) }

        let status = try sandbox.json(["status"])
        #expect(status["jobs"]?.keys == ["pending", "blocked", "processing", "completed", "failed", "dead", "scheduled", "cancelled"])
        // The delayed job waits as `scheduled`, outside the claim's index.
        for state in ["scheduled", "processing", "completed", "failed", "dead"] {
            #expect(status["jobs"]?[state]?.intValue == 1, "\(state): \(status.serialized())")
        }
        #expect(status["jobs"]?["pending"]?.intValue == 0)
        let workers = try #require(status["workers"]?.arrayValue)
        #expect(Set(workers.compactMap { $0["id"]?.stringValue }) == Set(started.map(\.id)))
        for w in workers {
            for key in ["id", "pid", "state", "job_id"] { #expect(w.keys.contains(key), "worker lacks \(key)") }
        }
        let busy = workers.filter { $0["state"]?.stringValue == "busy" }
        #expect(busy.count == 1 && busy.first?["job_id"]?.stringValue == "r")

        let text = try sandbox.ok(["status"])
        for state in ["pending", "blocked", "processing", "completed", "failed", "dead", "scheduled", "cancelled"] { #expect(text.stdout.contains(state)) }

        // list by state and in full.
        #expect(try sandbox.json(["list", "--state", "failed"]).arrayValue?.map { $0["id"]?.stringValue } == ["f"])
        #expect(try sandbox.json(["list", "--state", "processing"]).arrayValue?.first?["worker_id"]?.stringValue == busy.first?["id"]?.stringValue)
        #expect(try sandbox.json(["list"]).arrayValue?.map { $0["id"]?.stringValue } == ["p", "c", "f", "d", "r"])
        #expect(try sandbox.json(["list", "--limit", "2"]).arrayValue?.count == 2)
        #expect(try sandbox.json(["list", "--limit", "1000000000"]).arrayValue?.count == 5)
        let table = try sandbox.ok(["list"]).lines
        #expect(table.first?.split(separator: " ").first == "ID")
        #expect(table.count == 6)
        #expect(table.dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) } == ["p", "c", "f", "d", "r"])

        #expect(FileManager.default.createFile(atPath: release, contents: nil))
        try sandbox.waitForState("r", "completed")
    }

    @Test func logsPrintEachAttemptsOutput() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("backoff-base", "1")])
        try sandbox.enqueue(#"{"id":"l","max_retries":2,"command":"echo out-$QUEUECTL_ATTEMPT; echo err-$QUEUECTL_ATTEMPT >&2; [ $QUEUECTL_ATTEMPT -ge 2 ]"}"#)
        #expect(try sandbox.run(["logs", "l"]).status == 3, "no run yet")
        try sandbox.startWorkers(1)
        try sandbox.waitForState("l", "completed")

        let latest = try sandbox.run(["logs", "l"])
        #expect(latest.status == 0)
        #expect(latest.stdout.contains("out-2\n") && latest.stdout.contains("err-2\n"))
        #expect(!latest.stdout.contains("out-1"))
        let first = try sandbox.run(["logs", "l", "--attempt", "1"])
        #expect(first.stdout.contains("out-1\n") && first.stdout.contains("err-1\n"))
        #expect(first.stderr.isEmpty)
        let missing = try sandbox.run(["logs", "l", "--attempt", "3"])
        #expect(missing.status == 3 && missing.stdout.isEmpty && missing.stderr.hasPrefix("error: "))

        let show = try sandbox.ok(["show", "l"])
        #expect(show.stdout.contains("History"))
        #expect(show.stdout.contains("failed") && show.stdout.contains("succeeded"))
        // A store whose workers may be on many hosts records each run's host, and the
        // history shows it; an embedded store's runs are all on this one.
        let runs = try sandbox.job("l")["history"]?.arrayValue ?? []
        #expect(runs.count == 2)
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(cString: name)
        if TestDatabase.isFile {
            #expect(!show.stdout.contains("HOST"))
            #expect(runs.allSatisfy { $0["host"] == nil })
        } else {
            #expect(show.stdout.contains("HOST"))
            #expect(runs.allSatisfy { $0["host"]?.stringValue == host }, "\(runs)")
            let historyLines = show.stdout.split(separator: "\n").filter { $0.contains("#1") || $0.contains("#2") }
            #expect(historyLines.count == 2 && historyLines.allSatisfy { $0.contains(" \(host) ") }, "\(show.stdout)")
        }
    }

    @Test func logsFollowStreamsARunningJobUntilItEnds() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let go = sandbox.path("go")
        try sandbox.enqueue(#"{"id":"live","command":"echo begin; while [ ! -f \#(go) ]; do sleep 0.05; done; echo end"}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState("live", "processing")
        let followed = Results()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            followed.add(Result { try sandbox.run(["logs", "live", "--follow"], timeout: 20) })
            done.signal()
        }
        usleep(300_000)
        #expect(FileManager.default.createFile(atPath: go, contents: nil))
        #expect(done.wait(timeout: .now() + 20) == .success, "logs --follow did not return after the run ended")
        let result = try #require(followed.all.first).get()
        #expect(result.status == 0)
        #expect(result.stdout == "begin\nend\n")
    }
}

/// Output capture limits, stats, and file permissions.
@Suite struct OutputAndFilesTests {
    @Test func outputBeyondTheLimitIsCutWithANote() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("output-limit", "2K")])
        try sandbox.enqueue(#"{"id":"chatty","command":"head -c 200000 /dev/zero | tr '\\0' a; echo; echo tail-line"}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState("chatty", "completed")
        let logs = try sandbox.run(["logs", "chatty"]).stdout
        #expect(logs.hasPrefix(String(repeating: "a", count: 2048)))
        #expect(logs.utf8.count < 2048 + 200, "log holds \(logs.utf8.count) bytes with a 2 KiB limit")
        #expect(logs.contains("truncated"))
        #expect(!logs.contains("tail-line"))
    }

    @Test func statsReportThroughputAndPercentiles() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"ok1","command":"true"}"#)
        try sandbox.enqueue(#"{"id":"ok2","command":"true"}"#)
        try sandbox.enqueue(#"{"id":"bad","command":"false","max_retries":0}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState("bad", "dead")
        try sandbox.waitForState("ok2", "completed")
        let stats = try sandbox.json(["stats"])
        let lastMinute = stats["throughput"]?["last_1m"]
        #expect(lastMinute?["completed"]?.intValue == 2)
        #expect(lastMinute?["failed"]?.intValue == 1)
        for window in ["last_1m", "last_5m", "last_60m"] { #expect(stats["throughput"]?[window] != nil) }
        let rate = try #require(stats["success_rate"]?.doubleValue)
        #expect(abs(rate - 2.0 / 3.0) < 0.001)
        for key in ["run_duration_seconds", "queue_wait_seconds"] {
            for p in ["p50", "p95", "max"] { #expect(stats[key]?[p]?.doubleValue != nil, "\(key).\(p)") }
        }
        #expect(try sandbox.run(["stats"]).status == 0)
    }

    @Test func databaseAndLogFilesArePrivate() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it checks the modes of the database file and the files beside it.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"p","command":"echo secret"}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState("p", "completed")
        let fm = FileManager.default
        var checked = 0
        for name in try fm.contentsOfDirectory(atPath: sandbox.directory) where name.hasPrefix("queue.db") {
            let path = sandbox.path(name)
            var isDir: ObjCBool = false
            _ = fm.fileExists(atPath: path, isDirectory: &isDir)
            let mode = try #require(try fm.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            #expect(mode == (isDir.boolValue ? 0o700 : 0o600), "\(name) has mode \(String(mode, radix: 8))")
            checked += 1
            if isDir.boolValue {
                for log in try fm.contentsOfDirectory(atPath: path) {
                    let m = try #require(try fm.attributesOfItem(atPath: path + "/" + log)[.posixPermissions] as? Int)
                    #expect(m & 0o077 == 0, "\(name)/\(log) has mode \(String(m, radix: 8))")
                    checked += 1
                }
            }
        }
        #expect(checked >= 4)
    }
}
