import Foundation
import QueueCore
import Testing
import TestSupport

/// `queuectl web` driven as a user would: started on a free loopback port against
/// a sandbox database, spoken to with curl.
@Suite struct WebTests {
    @Test func pagesAreEscapedCountsMatchAndHeadersAreStrict() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"x","command":"echo '<script>alert(1)</script>' \"q\" \u001b[31mred"}"#)
        try sandbox.enqueue(#"{"id":"later","command":"true","delay":3600}"#)
        let web = try WebProcess(sandbox, ["--listen", "127.0.0.1:0"])
        defer { web.stop() }

        let overview = try web.get("/")
        #expect(overview.status == 200)
        #expect(overview.header("content-security-policy")?.contains("default-src 'self'") == true)
        #expect(overview.header("content-security-policy")?.contains("frame-ancestors 'none'") == true)
        #expect(overview.header("x-content-type-options") == "nosniff")
        #expect(!overview.body.contains("<script>"), "no inline script on the page")
        let head = try web.get("/", ["-I"])
        #expect(head.status == 200 && head.body.isEmpty && head.header("content-security-policy") != nil)

        let list = try web.get("/jobs")
        #expect(list.status == 200)
        #expect(!list.body.contains("<script>alert"))
        #expect(list.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        let page = try web.get("/job?id=x")
        #expect(page.body.contains("&#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39; &quot;q&quot; <span class=\"ctl\">␛</span>[31mred"))
        #expect(try web.get("/job?id=nope").status == 404)
        #expect(try web.get("/api/jobs?state=bogus").status == 400)
        #expect(try web.get("/assets/app.js").header("content-type")?.hasPrefix("text/javascript") == true)

        // The API's objects are the CLI's.
        let status = try JSONValue.parse(try web.get("/api/status").body)
        let cli = try sandbox.json(["status"])
        #expect(status["jobs"] == cli["jobs"])
        #expect(status["total"]?.intValue == 2)
        #expect(try JSONValue.parse(try web.get("/api/jobs/x").body) == (try sandbox.json(["show", "x"])))
        #expect(try JSONValue.parse(try web.get("/api/jobs?state=scheduled").body) == (try sandbox.json(["list", "--state", "scheduled"])))
        #expect(try JSONValue.parse(try web.get("/api/jobs").body) == (try sandbox.json(["list"])))
        #expect(try JSONValue.parse(try web.get("/api/jobs?newest=1&limit=1").body) == (try sandbox.json(["list", "--newest", "--limit", "1"])))
        #expect(try web.get("/api/jobs/nope").status == 404)
        // The overview's cards show the same counts.
        for state in ["pending", "scheduled", "dead"] {
            let n = cli["jobs"]?[state]?.intValue ?? -1
            #expect(overview.body.contains("data-state=\"\(state)\"><b>\(n)</b>"), "\(state)")
        }
        // The same text as `queuectl metrics`, but for the latency, which moves with the clock.
        func stable(_ text: String) -> [Substring] { text.split(separator: "\n").filter { !$0.hasPrefix("queuectl_queue_latency_seconds ") } }
        let served = try web.get("/metrics")
        #expect(served.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(stable(served.body) == stable(try sandbox.ok(["metrics"]).stdout))
        #expect(served.body.contains("queuectl_queue_latency_seconds "))
    }

    @Test func retryFromTheDLQNeedsTheCSRFToken() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"d","command":"exit 3","max_retries":0}"#)
        try sandbox.enqueue(#"{"id":"e","command":"exit 3","max_retries":0}"#)
        try sandbox.enqueue(#"{"id":"stop","command":"true"}"#)
        _ = try sandbox.ok(["worker", "start", "--count", "1"])
        defer { _ = try? sandbox.run(["worker", "stop"]) }
        try sandbox.waitForState("d", "dead")
        try sandbox.waitForState("e", "dead")
        _ = try sandbox.ok(["worker", "stop"])
        let web = try WebProcess(sandbox, ["--listen", "127.0.0.1:0"])
        defer { web.stop() }
        let stream = try web.openEvents()
        defer { stream.terminate() }

        let dlq = try web.get("/dlq")
        let token = try #require(dlq.body.firstMatch(of: /name="csrf" value="([0-9a-f]+)"/)?.1)
        #expect(try web.post("/dlq/retry", "id=d").status == 403)
        #expect(try web.post("/dlq/retry", "id=d&csrf=0000").status == 403)
        #expect(try sandbox.state("d") == "dead")
        #expect(try web.post("/dlq/retry", "id=d&csrf=\(token)").status == 303)
        #expect(try sandbox.state("d") == "pending")
        #expect(try sandbox.state("e") == "dead")
        #expect(try web.post("/dlq/retry", "all=1&csrf=\(token)").status == 303)
        #expect(try sandbox.state("e") == "pending")
        #expect(try web.post("/queues/pause", "queue=default&csrf=\(token)").status == 303)
        #expect(try sandbox.json(["queue", "list"]).arrayValue?.first?["paused"] == .bool(true))
        #expect(try web.post("/queues/resume", "queue=default").status == 403)
        #expect(try web.post("/queues/resume", "queue=default&csrf=\(token)").status == 303)
        #expect(try sandbox.json(["queue", "list"]).arrayValue?.first?["paused"] == .bool(false))
        // A job's cancel, requeue and run-now, as on the CLI; a state that forbids it is a 409.
        try sandbox.enqueue(#"{"id":"later","command":"true","delay":3600}"#)
        #expect(try web.get("/job?id=later").body.contains("action=\"/job/cancel\""))
        #expect(try web.post("/job/run-now", "id=later").status == 403)
        #expect(try web.post("/job/run-now", "id=later&csrf=\(token)").status == 303)
        #expect(try sandbox.state("later") == "pending")
        #expect(try web.post("/job/cancel", "id=later&csrf=\(token)").status == 303)
        #expect(try sandbox.state("later") == "cancelled")
        #expect(try web.post("/job/cancel", "id=later&csrf=\(token)").status == 409)
        #expect(try web.post("/job/cancel", "id=ghost&csrf=\(token)").status == 404)
        #expect(try web.post("/job/requeue", "id=later&csrf=\(token)").status == 303)
        #expect(try sandbox.json(["list", "--state", "pending"]).arrayValue?.contains { $0["requeued_from"] == .string("later") } == true)
        // The open event stream heard of the changes.
        #expect(QueueSandbox.waitUntil(timeout: 5) { stream.output().contains("event: change") })
    }

    @Test func readonlyRefusesChangesAndStopsCleanly() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"a","command":"true"}"#)
        let web = try WebProcess(sandbox, ["--listen", "127.0.0.1:0", "--readonly"])
        defer { web.stop() }
        let dlq = try web.get("/dlq")
        #expect(dlq.status == 200)
        #expect(!dlq.body.contains("name=\"csrf\""), "no forms in read-only mode")
        #expect(try web.post("/dlq/retry", "id=a").status == 403)
        #expect(try web.post("/queues/pause", "queue=default").status == 403)
        // An open event stream does not hold the stop.
        let stream = try web.openEvents()
        defer { stream.terminate() }
        #expect(QueueSandbox.waitUntil(timeout: 5) { stream.output().contains("retry:") })
        #expect(web.terminate() == 0, "SIGTERM stops it with status 0")
    }

    @Test func aTokenGuardsEveryRequest() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"a","command":"true"}"#)
        // Any address other than loopback needs a token.
        let refused = try sandbox.run(["web", "--listen", "0.0.0.0:0"], timeout: 10)
        #expect(refused.status == 64)
        #expect(refused.stderr.hasPrefix("error:") && refused.stderr.split(separator: "\n").count == 1)

        let token = "s3cret-token-42"
        let web = try WebProcess(sandbox, ["--listen", "127.0.0.1:0", "--token", token])
        defer { web.stop() }
        let bare = try web.get("/api/status")
        #expect(bare.status == 401)
        #expect(bare.header("content-security-policy") != nil)
        #expect(try web.get("/api/status", ["-H", "Authorization: Bearer wrong-token-00"]).status == 401)
        #expect(try web.get("/api/status", ["-H", "Authorization: Bearer \(token)"]).status == 200)
        let login = try web.get("/?token=\(token)")
        #expect(login.status == 303)
        let cookie = try #require(login.header("set-cookie"))
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        let pair = String(cookie.split(separator: ";")[0])
        #expect(try web.get("/jobs", ["-H", "Cookie: \(pair)"]).status == 200)
    }
}

/// A running `queuectl web`, killed when the test ends however it ends.
final class WebProcess {
    let process = Process()
    private(set) var base = ""
    let outPath: String

    init(_ sandbox: QueueSandbox, _ arguments: [String]) throws {
        outPath = sandbox.path("web.out")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: QueueSandbox.binaryPath)
        process.arguments = ["web", "--db", sandbox.address] + arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = process.standardOutput
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var found: String?
        let path = outPath, process = process
        _ = QueueSandbox.waitUntil(timeout: 10) {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            found = text.firstMatch(of: /at (http:\/\/[0-9.]+:[0-9]+)\//).map { String($0.1) }
            return found != nil || !process.isRunning
        }
        guard let found else {
            stop()
            throw TestFailure("queuectl web did not start: \((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "")")
        }
        base = found
    }

    func get(_ path: String, _ extra: [String] = []) throws -> HTTPReply { try curl(extra + [base + path]) }

    func post(_ path: String, _ form: String) throws -> HTTPReply { try curl(["-X", "POST", "--data", form, base + path]) }

    /// A `curl -N` on /events, left running.
    func openEvents() throws -> CurlStream { try CurlStream(base + "/events", directory: (outPath as NSString).deletingLastPathComponent) }

    private func curl(_ arguments: [String]) throws -> HTTPReply {
        let result = try QueueSandbox.exec("/usr/bin/curl", ["-s", "-i", "--max-time", "10"] + arguments)
        return HTTPReply(result.stdout)
    }

    /// SIGTERM, then the exit status.
    func terminate() -> Int32 {
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        return process.terminationStatus
    }

    func stop() { if process.isRunning { _ = terminate() } }
}

final class CurlStream {
    let process = Process()
    let path: String

    init(_ url: String, directory: String) throws {
        path = directory + "/events-\(UUID().uuidString.prefix(6)).out"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-N", "--max-time", "30", url]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func output() -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// SIGKILL: a test runner may leave SIGTERM ignored in its children.
    func terminate() { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
}

/// A response as curl -i prints it.
struct HTTPReply {
    var status = 0
    var headers: [(String, String)] = []
    var body = ""

    init(_ raw: String) {
        guard let split = raw.range(of: "\r\n\r\n") else { body = raw; return }
        let head = raw[..<split.lowerBound].split(separator: "\r\n")
        body = String(raw[split.upperBound...])
        status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
    }

    func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
}
