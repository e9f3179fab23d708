import ArgumentParser
import Foundation
import QueueCore
import QueueStores
import QueueMonitor
import QueueRunner

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Open the monitor on a scratch queue with live workers and a mix of jobs.",
        discussion: """
            Creates a new database in a temporary folder (never yours), fills it with jobs \
            that succeed, fail and retry, run slowly, print output, time out or wait for \
            later, starts three workers and opens the monitor. More jobs keep arriving while \
            it runs. Quitting stops the workers it started and says where the scratch \
            database is.

            With --db postgres://…, the demo queue is a new schema of that database \
            (`demo_…`, kept afterwards like the scratch file), so its workers and any other \
            host's can be watched on the server store.

            Examples:
              queuectl demo
              queuectl demo --db postgres://queuectl@db.internal:5432/queuectl
            """
    )
    @Option(help: "Workers to start.")
    var workers = 3
    @Option(help: ArgumentHelp("A postgres:// database to hold the demo queue (default: a SQLite file in a temporary folder).", valueName: "address"))
    var db: String?

    static let refreshSeconds = 0.5
    static let stopTimeoutSeconds = 15.0

    func validate() throws {
        guard (1...16).contains(workers) else { throw ValidationError("--workers must be from 1 to 16") }
    }

    func run() throws {
        try reportingErrors {
            try MonitorCommand.requireTerminal()
            let name = "demo-\(JobID.generate().suffix(6).lowercased())"
            let address: StoreAddress
            var folder: URL?
            if let db {
                guard StoreAddress.isServerAddress(db) else {
                    throw QueueError.invalidInput("demo --db takes a postgres:// address (without it, the demo uses a temporary SQLite file)")
                }
                address = .server(db + (db.contains("?") ? "&" : "?") + "schema=" + name.replacingOccurrences(of: "-", with: "_"))
            } else {
                let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("queuectl-" + name)
                try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                folder = scratch
                address = .file(DatabaseLocation(path: scratch.appendingPathComponent("queue.db").path))
            }
            let store = try StoreOpener.open(address, .service)
            try store.setConfig(.backoffBase, 1.5)
            try store.setConfig(.maxRetries, 2)
            try store.setConfig(.killGrace, 1)
            _ = try store.enqueue(try Self.jobs(), now: .now())
            let supervisor = WorkerSupervisor(address: address)
            _ = try supervisor.startBackground(count: workers)
            let feeder = DemoFeeder(address: address)
            feeder.start()
            var failure: Error?
            do {
                try MonitorApp(source: MonitorDataSource(store: store, supervisor: supervisor), refreshSeconds: Self.refreshSeconds,
                               useColor: MonitorCommand.useColor,
                               greeting: "demo queue at \(store.displayAddress) — ? shows the keys, q quits").run()
            } catch {
                failure = error   // the workers are stopped all the same
            }
            feeder.stop()
            // Every worker of this scratch queue is the demo's (+ in the monitor starts more).
            Terminal.note("stopping the demo's workers (each finishes its current job, at most \(Int(Self.stopTimeoutSeconds)) s)…")
            let report = try supervisor.stop(wait: true, timeout: Self.stopTimeoutSeconds)
            let stopped = report.requested.count - report.stillRunning.count
            print("stopped \(stopped) demo worker\(stopped == 1 ? "" : "s")"
                  + (report.stillRunning.isEmpty ? "" : "; \(report.stillRunning.count) still finishing a job"))
            print("the demo queue is kept at \(store.displayAddress)")
            print("look again:  queuectl --db '\(address.argument)' monitor")
            if let folder { print("remove it:   rm -r \(folder.path)") }
            if let failure { throw failure }
        }
    }

    /// A queue with something of everything.
    static func jobs() throws -> [JobSpec] {
        var specs: [JobSpec] = []
        for i in 1...12 {
            specs.append(try JobSpec(id: "build-\(i)", command: "echo building part \(i); sleep 0.\(i % 9 + 1); echo part \(i) done",
                                     priority: i % 3 == 0 ? 5 : 0))
        }
        for i in 1...5 {
            specs.append(try JobSpec(id: "report-\(i)", command: "for step in 1 2 3 4 5 6 7 8 9 10; do echo \"report \(i): step $step of 10\"; sleep 1; done"))
        }
        for i in 1...3 {
            specs.append(try JobSpec(id: "flaky-\(i)", command: "echo \"attempt $QUEUECTL_ATTEMPT\"; test \"$QUEUECTL_ATTEMPT\" -ge 2 || { echo 'connection reset by peer' >&2; exit 1; }"))
        }
        for i in 1...3 {
            specs.append(try JobSpec(id: "sync-\(i)", command: "echo 'contacting upstream'; echo 'error: upstream returned 503' >&2; exit 2"))
        }
        specs.append(try JobSpec(id: "deploy", command: "deploy-widgets --now"))
        specs.append(try JobSpec(id: "locked", command: "echo 'waiting for the lock'; sleep 30", maxRetries: 0, timeout: 3))
        specs.append(try JobSpec(id: "unicode", command: "echo 'résumé 完成 ✅ — wide characters are fine'"))
        for i in 1...4 {
            specs.append(try JobSpec(id: "nightly-\(i)", command: "echo nightly \(i)", delaySeconds: Double(20 * i)))
        }
        return specs
    }
}

/// Keeps a little work arriving while the demo runs, from this process (no shell
/// string is ever assembled).
final class DemoFeeder: @unchecked Sendable {
    private let address: StoreAddress
    private let lock = NSLock()
    private var stopped = false

    init(address: StoreAddress) { self.address = address }

    func start() {
        Thread.detachNewThread { [self] in
            guard let store = try? StoreOpener.open(address, .command(creating: false)) else { return }
            var n = 0
            while !lock.withLock({ stopped }) {
                Thread.sleep(forTimeInterval: 2)
                n += 1
                let specs = [
                    try? JobSpec(id: "tick-\(n)", command: "echo tick \(n); sleep 1.5"),
                    n % 4 == 0 ? try? JobSpec(id: "retry-me-\(n)", command: "echo 'disk quota exceeded' >&2; exit 1", maxRetries: 1) : nil,
                ].compactMap { $0 }
                _ = try? store.enqueue(specs, now: .now())
            }
        }
    }

    func stop() { lock.withLock { stopped = true } }
}
