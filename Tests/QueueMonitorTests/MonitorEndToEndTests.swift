import Foundation
import Testing
import QueueCore
import TestSupport

/// Drives the real binary's monitor inside tmux: what a user sees and types.
@Suite(.serialized) struct MonitorEndToEndTests {
    /// A private tmux server for one test.
    struct Tmux {
        let socket = "queuectl-test-\(UUID().uuidString.prefix(8))"

        @discardableResult
        func run(_ args: [String]) throws -> CLIResult {
            try QueueSandbox.spawnAndWait("tmux", ["-L", socket] + args)
        }

        func screen() throws -> String { try run(["capture-pane", "-p", "-t", "mon"]).stdout }

        func send(_ keys: String...) throws { try run(["send-keys", "-t", "mon"] + keys) }

        func waitFor(_ text: String, timeout: Double = 15) throws -> Bool {
            try QueueSandbox.waitUntil(timeout: timeout) { try screen().contains(text) }
        }

        func kill() { _ = try? run(["kill-server"]) }

        /// The pane's command: the monitor, with its exit status written to
        /// `statusFile` by a constant wrapper script (arguments stay separate).
        static func monitorCommand(db: String, statusFile: String, extra: [String] = []) -> [String] {
            ["env", "NO_COLOR=1", "STATUS_FILE=\(statusFile)", "sh", "-c", #""$0" "$@"; echo "$?" > "$STATUS_FILE""#,
             QueueSandbox.binaryPath, "--db", db, "monitor"] + extra
        }

        /// The monitor's exit status, once it has exited.
        static func exitStatus(_ statusFile: String, timeout: Double = 15) -> String? {
            var status: String?
            _ = QueueSandbox.waitUntil(timeout: timeout) {
                status = (try? String(contentsOfFile: statusFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                return status?.isEmpty == false
            }
            return status
        }

    }

    @Test func panesShowTheQueueAndRRetriesADeadJob() throws {
        let sandbox = try QueueSandbox(name: "monitor-e2e")
        defer { sandbox.cleanup() }
        try sandbox.run(["config", "set", "backoff-base", "1"])
        try sandbox.run(["enqueue", #"{"id":"will-die","command":"echo going down; exit 4","max_retries":0}"#])
        try sandbox.run(["enqueue", #"{"id":"slow-one","command":"sleep 30"}"#])
        try sandbox.run(["enqueue", #"{"id":"later-one","command":"true","delay":3600}"#])
        let started = try sandbox.run(["worker", "start", "--count", "2"])
        #expect(started.status == 0, "\(started)")
        let workerID = try #require(started.lines.first?.split(separator: " ").first.map(String.init))
        #expect(try QueueSandbox.waitUntil { try sandbox.run(["show", "will-die", "--json"]).stdout.contains(#""state": "dead""#) })

        let tmux = Tmux()
        defer { tmux.kill() }
        let statusFile = sandbox.directory + "/monitor.status"
        try tmux.run(["new-session", "-d", "-s", "mon", "-x", "120", "-y", "40"]
                     + Tmux.monitorCommand(db: sandbox.address, statusFile: statusFile, extra: ["--refresh", "0.2"]))
        try tmux.run(["set-option", "-t", "mon", "remain-on-exit", "on"])
        #expect(try tmux.waitFor("2 Workers"))
        #expect(try tmux.waitFor(workerID))
        let screen = try tmux.screen()
        for text in ["1 Jobs", "3 DLQ", "4 Log tail", "will-die", "slow-one", "later-one", workerID, "exit code 4"] {
            #expect(screen.contains(text), "missing \(text) in:\n\(screen)")
        }

        // Retry from the DLQ pane: stop the workers first so the job stays pending.
        try sandbox.run(["worker", "stop", "--timeout", "1"])
        try tmux.send("3")
        try tmux.send("r")
        #expect(try tmux.waitFor("1 job → pending"))
        let shown = try sandbox.run(["show", "will-die", "--json"]).stdout
        #expect(shown.contains(#""state": "pending""#), Comment(rawValue: shown))
        #expect(shown.contains(#""attempts": 0"#), Comment(rawValue: shown))

        // + starts a worker through the supervisor; S stops them all after y/N.
        try tmux.send("+")
        #expect(try tmux.waitFor("started worker w-"))
        let flash = try tmux.screen().components(separatedBy: "started worker ").dropFirst().first ?? ""
        let newWorker = String(flash.prefix { !$0.isWhitespace && $0 != "," })
        #expect(try sandbox.run(["worker", "list"]).stdout.contains(newWorker), "\(newWorker)")
        try tmux.send("S")
        #expect(try tmux.waitFor("gracefully? [y/N]"))
        try tmux.send("y")
        #expect(try tmux.waitFor("stopping"))
        #expect(try QueueSandbox.waitUntil { try !sandbox.run(["worker", "list"]).stdout.contains(newWorker) })

        // Resize small (one pane at a time), tiny (asks for more room), and back.
        try tmux.run(["resize-window", "-t", "mon", "-x", "60", "-y", "15"])
        let narrow = try tmux.waitFor("1 Jobs   2 Workers")
        let narrowScreen = try tmux.screen()
        #expect(narrow, "\(narrowScreen)")
        try tmux.run(["resize-window", "-t", "mon", "-x", "40", "-y", "10"])
        #expect(try tmux.waitFor("need 50×12, have 40×10"))
        try tmux.run(["resize-window", "-t", "mon", "-x", "120", "-y", "40"])
        #expect(try tmux.waitFor("4 Log tail"))

        // q quits with status 0 and gives the terminal back.
        try tmux.send("q")
        #expect(Tmux.exitStatus(statusFile) == "0")
        #expect(try tmux.run(["display-message", "-p", "-t", "mon", "#{alternate_on}"]).stdout.hasPrefix("0"),
                "the terminal is back on its normal screen")
    }

    @Test func ctrlCQuitsCleanly() throws {
        let sandbox = try QueueSandbox(name: "monitor-ctrlc")
        defer { sandbox.cleanup() }
        let tmux = Tmux()
        defer { tmux.kill() }
        let statusFile = sandbox.directory + "/monitor.status"
        try tmux.run(["new-session", "-d", "-s", "mon", "-x", "100", "-y", "30"]
                     + Tmux.monitorCommand(db: sandbox.address, statusFile: statusFile))
        try tmux.run(["set-option", "-t", "mon", "remain-on-exit", "on"])
        #expect(try tmux.waitFor("1 Jobs"))
        try tmux.send("C-c")
        #expect(Tmux.exitStatus(statusFile) == "0")
    }

    /// `+` then `S`: the pool the console started ends, and the console reaps it
    /// (no `<defunct>` child until it quits).
    @Test func startingAndStoppingWorkersLeavesNoDefunctChildren() throws {
        let sandbox = try QueueSandbox(name: "monitor-reap")
        defer { sandbox.cleanup() }
        let tmux = Tmux()
        defer { tmux.kill() }
        let statusFile = sandbox.directory + "/monitor.status"
        try tmux.run(["new-session", "-d", "-s", "mon", "-x", "120", "-y", "40"]
                     + Tmux.monitorCommand(db: sandbox.address, statusFile: statusFile))
        try tmux.run(["set-option", "-t", "mon", "remain-on-exit", "on"])
        #expect(try tmux.waitFor("1 Jobs"))
        let shell = try #require(Int32(try tmux.run(["display-message", "-p", "-t", "mon", "#{pane_pid}"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        let monitor = try #require(Self.children(of: shell).first)
        for _ in 0..<2 {
            try tmux.send("+")
            #expect(try tmux.waitFor("started worker w-"))
        }
        try tmux.send("S")
        #expect(try tmux.waitFor("gracefully? [y/N]"))
        try tmux.send("y")
        #expect(try tmux.waitFor("stopping 2 workers"))
        let reaped = QueueSandbox.waitUntil(timeout: 10) { Self.children(of: monitor).isEmpty }
        #expect(reaped, "the console keeps children: \(Self.children(of: monitor).map { "\($0) \(Self.state($0) ?? "?")" })")
        try tmux.send("q")
        #expect(Tmux.exitStatus(statusFile) == "0")
    }

    /// Children of `pid` (any thread), zombies included.
    static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    static func state(_ pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(close, offsetBy: 2)...].split(separator: " ").first.map(String.init)
    }

    @Test func refusesToRunWithoutATerminal() throws {
        let sandbox = try QueueSandbox(name: "monitor-notty")
        defer { sandbox.cleanup() }
        let result = try sandbox.run(["monitor"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: the monitor needs a terminal"))
        #expect(result.stdout.isEmpty)
    }
}
