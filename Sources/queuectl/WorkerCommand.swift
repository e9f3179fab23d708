import ArgumentParser
import Foundation
import Logging
import QueueCore
import QueueRunner

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Start, stop and list worker processes.",
        discussion: """
            Examples:
              queuectl worker start --count 3       # 3 background workers; prints ids and pids
              queuectl worker start --foreground    # attached, for systemd or a container
              queuectl worker list
              queuectl worker stop                  # each finishes its current job first
            """,
        subcommands: [Start.self, Stop.self, List.self, Run.self, Supervise.self]
    )

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start",
            abstract: "Start worker processes (in the background unless --foreground).",
            discussion: """
                Background workers run detached, log to <db>-logs/workers.log and keep running \
                after this command returns, under a small supervisor process that restarts a \
                worker that crashes (after 0.5 s, doubling up to a minute while crashes repeat) \
                and releases its job at once; `worker stop` stops the workers and their \
                supervisor. Calling start again adds workers. Jobs run in this command's working \
                directory with its environment, plus QUEUECTL_JOB_ID and QUEUECTL_ATTEMPT.

                With --foreground this process is the supervisor: the workers stay attached and \
                log to stderr; SIGINT or SIGTERM stops them gracefully, also while still waiting \
                for the database (a second signal cancels running jobs, which are retried).

                --queue a,b makes the workers serve only those queues (by default they serve \
                every queue, including ones created later). A worker serving several queues \
                takes them in turns shared by all workers: each claim goes to the open queue \
                with a due job that was served least recently; priorities order jobs within a \
                queue only. See `queuectl queue --help`.

                Examples:
                  queuectl worker start --count 4
                  queuectl worker start --count 2 --foreground
                  queuectl worker start --count 2 --queue mail,reports
                """
        )
        @OptionGroup var global: GlobalOptions
        @Option(name: .shortAndLong, parsing: .unconditional, help: "Number of worker processes (1–256).")
        var count = 1
        @Flag(help: "Keep the workers attached to this process.")
        var foreground = false
        @Option(help: "Serve only these queues, comma-separated (default: every queue).")
        var queue: String?
        @Flag(help: "Print the started workers as JSON.")
        var json = false

        func validate() throws {
            guard (1...256).contains(count) else { throw ValidationError("--count must be from 1 to 256") }
            if let queue { _ = try QueueNameArgument.parse(queue) }
        }

        func run() throws {
            try reportingErrors {
                if foreground {
                    // From the first instant: a stop while another process holds the
                    // database's write lock ends the wait below, gracefully.
                    StopSignals.install()
                    StopSignals.interruptDatabaseWaits(true)
                }
                let store: any JobStore
                do {
                    // Validates the database, writable included, before spawning anything.
                    store = try global.openStore()
                    try store.checkWritable()
                } catch where foreground && StopSignals.received {
                    Terminal.note("queuectl: stop signal received while waiting for the database; no worker was started")
                    return
                }
                StopSignals.interruptDatabaseWaits(false)
                var supervisor = WorkerSupervisor(address: try global.address())
                supervisor.queues = try queue.map(QueueNameArgument.parse)
                if foreground {
                    let generation = try store.stopGeneration()
                    let status = try supervisor.supervise(count: count, stopGeneration: generation, detached: false) {
                        Terminal.note("queuectl: \($0)")
                    }
                    if status != 0 { throw ExitCode(status) }
                    return
                }
                let workers = try supervisor.startBackground(count: count)
                if json {
                    Terminal.printJSON(.array(workers.map(\.json)))
                } else {
                    for w in workers { print("\(w.id)  pid \(w.pid)") }
                    Terminal.note("started \(workers.count) worker(s); log: \(store.location.workerLogPath)")
                }
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop",
            abstract: "Stop the workers of this database gracefully.",
            discussion: """
                Each worker finishes and records its current job, then exits; their supervisors \
                exit with them. Workers still starting when the stop comes do not register. \
                Waits until they are gone (up to --timeout). No running workers is not an error.

                Examples:
                  queuectl worker stop
                  queuectl worker stop --timeout 120
                  queuectl worker stop --no-wait
                """
        )
        @OptionGroup var global: GlobalOptions
        @Option(parsing: .unconditional, help: ArgumentHelp("How long to wait for workers to exit: 60, 90s, 5m.", valueName: "duration"))
        var timeout = DurationArgument(seconds: 60)
        @Flag(help: "Ask the workers to stop and return at once.")
        var noWait = false

        func run() throws {
            try reportingErrors {
                _ = try global.openExistingStore()
                let supervisor = WorkerSupervisor(address: try global.address())
                let report = try supervisor.stop(wait: !noWait, timeout: timeout.seconds)
                if report.requested.isEmpty {
                    Terminal.note("no workers running")
                    return
                }
                if noWait {
                    Terminal.note("asked \(report.requested.count) worker(s) to stop")
                    return
                }
                let stopped = report.requested.count - report.stillRunning.count
                print("stopped \(stopped) worker(s)")
                if !report.stillRunning.isEmpty {
                    for w in report.stillRunning {
                        Terminal.printError("worker \(w.id) (pid \(w.pid)) still running\(w.jobID.map { " job \($0)" } ?? "") after \(DurationText.exact(timeout.seconds))")
                    }
                    throw ExitCode(1)
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the registered workers.",
            discussion: """
                Examples:
                  queuectl worker list
                  queuectl worker list --json | jq '.[] | select(.state == "busy")'
                """
        )
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            try reportingErrors {
                let workers = try global.openStoreForReading().workers()
                if json { Terminal.printJSON(.array(workers.map(\.json))); return }
                if workers.isEmpty { Terminal.note("no workers running"); return }
                print(WorkerTable.render(workers))
            }
        }
    }

    /// The worker process itself (what the supervisor spawns).
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run one worker in this process (used by worker start).",
            shouldDisplay: false
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "Register only if no `worker stop` of every worker came since this stop generation.")
        var stopGeneration: Int64?
        @Option(help: "Serve only these queues, comma-separated (default: every queue).")
        var queue: String?

        func validate() throws {
            if let queue { _ = try QueueNameArgument.parse(queue) }
        }

        func run() throws {
            StopSignals.install()
            StopSignals.interruptDatabaseWaits(true)
            try reportingErrors {
                let address = try global.address()
                let queues = try queue.map(QueueNameArgument.parse)
                let logger = WorkerLog.bootstrap(label: "queuectl.worker")
                while true {
                    let status = try Worker(address: address, queues: queues, logger: logger, stopGeneration: stopGeneration).run()
                    // Released by recovery while alive: come back as a new worker,
                    // unless a stop was asked for meanwhile.
                    if status == Worker.releasedStatus && !Worker.stopSignalReceived {
                        logger.info("registering again as a new worker")
                        Thread.sleep(forTimeInterval: 0.2)
                        continue
                    }
                    if status != 0 { throw ExitCode(status) }
                    return
                }
            }
        }
    }

    /// The detached supervisor that `worker start` runs in the background.
    struct Supervise: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "supervise",
            abstract: "Keep a pool of workers running (used by worker start).",
            shouldDisplay: false
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "Number of worker processes.")
        var count = 1
        @Option(help: "The stop generation the pool was started at.")
        var stopGeneration: Int64 = 0
        @Option(help: "Queues the workers serve, comma-separated (default: every queue).")
        var queue: String?

        func validate() throws {
            if let queue { _ = try QueueNameArgument.parse(queue) }
        }

        func run() throws {
            StopSignals.install()
            try reportingErrors {
                let logger = WorkerLog.bootstrap(label: "queuectl.supervisor")
                var supervisor = WorkerSupervisor(address: try global.address())
                supervisor.queues = try queue.map(QueueNameArgument.parse)
                let status = try supervisor.supervise(count: count, stopGeneration: stopGeneration, detached: true) { logger.info("\($0)") }
                if status != 0 { throw ExitCode(status) }
            }
        }
    }
}

/// The workers' log (`workers.log` for background workers, stderr otherwise).
enum WorkerLog {
    static func bootstrap(label: String) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        return Logger(label: label)
    }
}

enum WorkerTable {
    static func render(_ workers: [WorkerRecord], now: Timestamp = .now()) -> String {
        Terminal.table(
            ["ID", "PID", "STATE", "JOB", "ON JOB", "STARTED", "HEARTBEAT", "DONE", "QUEUES"],
            workers.map { w in
                [w.id, String(w.pid), w.state.rawValue, w.jobID ?? "-",
                 w.jobStartedAt.map { Terminal.duration(now.seconds(since: $0)) } ?? "-",
                 Terminal.relative(w.startedAt, now: now), Terminal.relative(w.heartbeatAt, now: now), String(w.jobsDone),
                 w.queuesText]
            })
    }
}
