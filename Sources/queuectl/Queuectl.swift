import ArgumentParser
import Foundation

@main
struct Queuectl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queuectl",
        abstract: "A background job queue for shell commands, stored in SQLite.",
        discussion: """
            Enqueue shell commands as JSON, run them with worker processes, retry failures \
            with exponential backoff, and keep jobs that exhaust their retries in a dead \
            letter queue.

            Quick start:
              queuectl enqueue '{"id":"hello","command":"echo hello"}'
              queuectl worker start --count 2
              queuectl status
              queuectl logs hello
              queuectl monitor

            Database: --db PATH, else $QUEUECTL_DB, else $XDG_DATA_HOME/queuectl/queue.db \
            (~/.local/share/queuectl/queue.db).

            Exit codes: 0 success, 1 runtime error (database, system), 3 not found (a job, a \
            schedule, a queue, or the database: only enqueue, config set, worker start, monitor, \
            queue set/pause and schedule add create one), 4 conflict (the job's state does not \
            allow it, e.g. cancelling a final job), 5 a job waited for ended dead or cancelled \
            (wait, logs --follow), 6 wait timed out, 64 usage or invalid input. \
            `enqueue --wait` exits with the job's own exit code.
            """,
        version: "1.0.0",
        subcommands: [
            EnqueueCommand.self, WorkerCommand.self, StatusCommand.self, ListCommand.self, ShowCommand.self,
            LogsCommand.self, CancelCommand.self, WaitCommand.self, RequeueCommand.self, RunNowCommand.self, PruneCommand.self, EventsCommand.self,
            DLQCommand.self, QueueCommand.self, ScheduleCommand.self, ConfigCommand.self, StatsCommand.self, MonitorCommand.self, DemoCommand.self, BenchCommand.self,
            MetricsCommand.self, VersionCommand.self, WebCommand.self,
        ]
    )
}

extension Queuectl {
    /// Accepts the global `--db PATH` before the subcommand too
    /// (`queuectl --db q.db status`), by moving it to the end where every
    /// subcommand's option group parses it.
    static func main() {
        // Swift decodes argv leniently (invalid UTF-8 becomes U+FFFD): a command or
        // path given in another encoding would be stored and run altered. Refuse it.
        for position in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[position] else { continue }
            if String(validating: UnsafeRawBufferPointer(start: raw, count: strlen(raw)), as: UTF8.self) == nil {
                FileHandle.standardError.write(Data("error: argument \(position) is not valid UTF-8\n".utf8))
                Foundation.exit(64)
            }
        }
        var arguments = Array(CommandLine.arguments.dropFirst())
        var moved: [String] = []
        var index = 0
        while index < arguments.count, arguments[index].hasPrefix("-") {
            let argument = arguments[index]
            if argument == "--db", index + 1 < arguments.count {
                moved += [argument, arguments[index + 1]]
                arguments.removeSubrange(index...(index + 1))
            } else if argument.hasPrefix("--db=") {
                moved.append(argument)
                arguments.remove(at: index)
            } else {
                index += 1
            }
        }
        if !moved.isEmpty, !arguments.isEmpty {
            // At the end, or before a `--` (after which everything is a value).
            arguments.insert(contentsOf: moved, at: arguments.firstIndex(of: "--") ?? arguments.endIndex)
        } else if !moved.isEmpty {
            arguments = moved + arguments
        }
        CompletionRequest.silenceErrors(for: arguments)
        if let simple = SimpleEnqueue(arguments) {
            Foundation.exit(simple.run())
        }
        let quick = QuickCommand.parse(arguments)
        if quick == nil, let unknown = CommandSuggestion.unknownCommand(in: arguments, root: Queuectl.self) {
            Terminal.printError(unknown + " (see --help)")
            Foundation.exit(64)
        }
        do {
            if let quick {
                try quick.validate()
                try quick.run()
            } else {
                var command = try parseAsRoot(arguments)
                try command.run()
            }
        } catch {
            // Help, --version and our own exit codes go through ArgumentParser; a
            // usage error becomes one line on stderr instead of a usage dump.
            let code = exitCode(for: error)
            if code == .success || error is ExitCode { exit(withError: error) }
            var message = Self.oneLine(Self.message(for: error)) ?? "\(error)"
            // ArgumentParser's messages are sentences ("Unknown option…"); ours start lower case.
            if let first = message.first, first.isUppercase, message.dropFirst().first?.isLowercase == true {
                message = first.lowercased() + message.dropFirst()
            }
            Terminal.printError("\(message) (see --help)")
            Foundation.exit(code.rawValue)
        }
    }

    /// ArgumentParser's usage errors as one line. A message that goes on to list the
    /// valid values (`Please provide one of the following:` then `- value` lines) keeps
    /// them, joined on that line: the first line alone promises a list it does not give.
    static func oneLine(_ message: String) -> String? {
        let lines = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = lines.first else { return nil }
        let values = lines.dropFirst().filter { $0.hasPrefix("- ") }.map { $0.dropFirst(2) }
        guard first.hasSuffix(":"), !values.isEmpty else { return first }
        return first + " " + values.joined(separator: ", ")
    }
}
