import ArgumentParser
import Foundation
import QueueMonitor
import QueueRunner

struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Full-screen console: live jobs, workers, DLQ and log tail.",
        discussion: """
            Panes: 1 Jobs (state tabs with [ and ]), 2 Workers, 3 DLQ, 4 Log tail (output of the \
            selected job's latest run, following it while it runs). Tab/Shift-Tab or 1–4 move \
            between panes; j/k, arrows, PgUp/PgDn, g/G move; / filters the focused list; Enter \
            opens a job's detail; r retries the selected dead job, Space marks and R retries the \
            marked (or all) after a y/N prompt; + and - start and stop a worker, S stops all; p \
            pauses refresh; ? shows every key; q or Ctrl-C quits.

            Only the rows on screen are read, so it stays quick with millions of jobs. Colours \
            follow NO_COLOR; stdin and stdout must be a terminal.

            Examples:
              queuectl monitor
              queuectl monitor --refresh 0.25
              queuectl monitor --readonly        # look, never touch
            """
    )
    @OptionGroup var global: GlobalOptions
    @Option(parsing: .unconditional, help: ArgumentHelp("Time between looks at the database (at least 0.1s).", valueName: "duration"))
    var refresh = DurationArgument(seconds: 1)
    @Flag(help: "Look, never touch: no retries, no worker control, no recovery sweep.")
    var readonly = false

    func validate() throws {
        guard refresh.seconds >= MonitorApp.minimumRefreshSeconds else {
            throw ValidationError("--refresh must be at least \(MonitorApp.minimumRefreshSeconds) seconds")
        }
    }

    func run() throws {
        try reportingErrors {
            try Self.requireTerminal()
            // A read-only look never creates a queue; the full console may (it can start workers).
            let supervisor = WorkerSupervisor(address: try global.address())
            // --readonly: the console holds only the store's read side.
            let source = readonly ? MonitorDataSource(reader: try global.openExistingStore(), supervisor: supervisor)
                                  : MonitorDataSource(store: try global.openStore(), supervisor: supervisor)
            try MonitorApp(source: source, refreshSeconds: refresh.seconds, useColor: Self.useColor).run()
        }
    }

    static func requireTerminal() throws {
        guard isatty(STDOUT_FILENO) != 0, isatty(STDIN_FILENO) != 0 else {
            Terminal.printError("the monitor needs a terminal (stdin and stdout must be a tty); use status or list --json in scripts")
            throw ExitCode(1)
        }
    }

    static var useColor: Bool {
        let env = ProcessInfo.processInfo.environment
        return !(env["NO_COLOR"].map { !$0.isEmpty } ?? false) && env["TERM"] != "dumb"
    }
}
