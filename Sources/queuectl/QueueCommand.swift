import ArgumentParser
import QueueCore
import QueueRunner

/// Queue names given on the command line: a bad one is a usage error (exit 64).
enum QueueNameArgument {
    static func parse(_ text: String) throws -> [String] {
        do { return try QueueName.list(text) } catch let error as QueueError { throw ValidationError(error.message) }
    }

    static func validate(_ names: [String]) throws {
        for name in names { _ = try parse(name) }
    }
}

/// `queue pause` and `queue resume`: some queues by name, or `--all`.
struct QueueSelection: ParsableArguments {
    @Argument(help: "Queue names.")
    var names: [String] = []
    @Flag(help: "Every known queue.")
    var all = false

    /// The named queues; nil for `--all`.
    var queues: [String]? { all ? nil : names }

    func validate() throws {
        guard !(all && !names.isEmpty) else { throw ValidationError("give queue names or --all, not both") }
        guard all || !names.isEmpty else { throw ValidationError("give queue names or --all") }
        try QueueNameArgument.validate(names)
    }
}

struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Named queues: list them, cap their concurrency, pause and resume them.",
        discussion: """
            A job's "queue" field names its queue (default: default). Workers serve every \
            queue unless started with --queue a,b. Across queues, claims take turns: each \
            goes to the open queue with a due job that was served least recently; within a \
            queue, higher priority first, then earlier run_at, then FIFO.

            Examples:
              queuectl enqueue '{"command":"./send-mail.sh","queue":"mail"}'
              queuectl queue list
              queuectl queue set reports --concurrency 2
              queuectl queue unset reports
              queuectl queue pause mail
              queuectl queue resume mail
            """,
        subcommands: [List.self, Set.self, Unset.self, Pause.self, Resume.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the queues with their jobs per state, running/limit, pause and latency.",
            discussion: """
                LATENCY is how long the oldest due job of the queue has waited (0 when none \
                waits): the figure to watch. RUNNING counts the jobs workers hold, including \
                jobs claimed ahead that start next.

                Examples:
                  queuectl queue list
                  queuectl queue list --json | jq '.[] | select(.paused)'
                """
        )
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print a JSON array of queue objects.")
        var json = false

        func run() throws {
            try reportingErrors {
                let queues = try global.openStoreForReading().queues()
                let now = Timestamp.now()
                if json { Terminal.printJSON(.array(queues.map { $0.json(now: now) })); return }
                print(Terminal.table(["QUEUE", "STATUS", "PENDING", "SCHEDULED", "FAILED", "RUNNING/LIMIT", "DONE", "DEAD", "LATENCY"],
                                     queues.map { q in
                    [q.name, q.paused ? "paused" : "open", String(q.counts[.pending]), String(q.counts[.scheduled]),
                     String(q.counts[.failed]), "\(q.running)/\(q.concurrency.map(String.init) ?? "-")",
                     String(q.counts[.completed]), String(q.counts[.dead]), Terminal.duration(q.latency(now: now))]
                }))
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Cap how many jobs of a queue run at once, across all workers.",
            discussion: """
                The cap is checked inside each claim's transaction, so it holds exactly, also \
                when workers race: jobs held by workers (running, or claimed ahead to run next) \
                never outnumber it. Lowering it lets running jobs finish. --concurrency 0 \
                removes the cap, as `queue unset` does. The queue is created if it is new.

                Examples:
                  queuectl queue set reports --concurrency 2
                  queuectl queue set flaky-api --concurrency 1
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Queue name.")
        var name: String
        // Unconditional, so `--concurrency -1` is refused for its value, not "missing".
        @Option(parsing: .unconditional, help: "Most jobs of this queue running at once (0: no limit).")
        var concurrency: Int

        func validate() throws {
            try QueueNameArgument.validate([name])
            guard (0...1_000_000).contains(concurrency) else { throw ValidationError("--concurrency must be from 0 to 1000000") }
        }

        func run() throws {
            try reportingErrors {
                try global.openStore().setConcurrency(queue: name, concurrency)
                Terminal.note(concurrency > 0 ? "queue \(name): at most \(concurrency) running" : "queue \(name): no limit")
            }
        }
    }

    struct Unset: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unset",
            abstract: "Remove a queue's concurrency cap.",
            discussion: """
                Examples:
                  queuectl queue unset reports
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Queue name.")
        var name: String

        func validate() throws { try QueueNameArgument.validate([name]) }

        func run() throws {
            try reportingErrors {
                try global.openExistingStore().setConcurrency(queue: name, nil)
                Terminal.note("queue \(name): no limit")
            }
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause",
            abstract: "Stop starting jobs of queues (running jobs finish).",
            discussion: """
                Once this returns, no new job of the queue starts: claims check the pause in \
                their transaction, and when workers hold jobs of the queue this waits about a \
                second, the longest a job claimed ahead may wait to start. Jobs keep arriving \
                and wait. A queue can be paused before its first job. --all pauses every queue \
                known now (not queues created later).

                Examples:
                  queuectl queue pause mail
                  queuectl queue pause --all
                """
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: QueueSelection

        func run() throws {
            try reportingErrors {
                let paused = try QueuePause.pause(selection.queues, store: try global.openStore())
                Terminal.note("paused: \(paused.joined(separator: ", "))")
            }
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume",
            abstract: "Start jobs of paused queues again; idle workers wake at once.",
            discussion: """
                Examples:
                  queuectl queue resume mail
                  queuectl queue resume --all
                """
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: QueueSelection

        func run() throws {
            try reportingErrors {
                let resumed = try global.openExistingStore().setPaused(false, queues: selection.queues)
                Terminal.note("resumed: \(resumed.joined(separator: ", "))")
            }
        }
    }
}
