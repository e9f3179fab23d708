import ArgumentParser
import Foundation
import QueueCore
import QueueRunner

struct WaitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until jobs are final (completed, dead or cancelled).",
        discussion: """
            Sleeps until the queue changes (the database's commits wake it; no busy \
            polling), then looks again. Exit codes: 0 when every job completed, 5 when any \
            ended dead or cancelled, 6 when --timeout passed first (the jobs are left as \
            they are), 3 for an unknown id.

            Examples:
              queuectl wait job1
              queuectl wait job1 job2 --timeout 60 || echo "not all completed"
              queuectl wait build --json | jq -r '.[0].state'
            """
    )
    /// Said when a waiter may wait for ever.
    static let noWorkersNote = "note: no workers are running; start one with `queuectl worker start`"

    /// Exit code when a job waited for ended dead or cancelled.
    static let notCompletedStatus: Int32 = 5
    /// Exit code when `--timeout` passed before every job was final.
    static let timedOutStatus: Int32 = 6

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Ids of jobs to wait for.")
    var ids: [String] = []
    @Option(help: ArgumentHelp("Give up after this long (seconds, or 90s, 5m, 1h).", valueName: "duration"))
    var timeout: String?
    @Flag(help: "Print the jobs' final objects as a JSON array (in the order given).")
    var json = false

    func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("give at least one job id") }
        if let timeout {
            guard let seconds = DurationText.seconds(timeout), seconds >= 0 else {
                throw ValidationError("--timeout must be a duration like 30, 90s, 5m or 1h, got '\(timeout)'")
            }
        }
    }

    func run() throws {
        try reportingErrors {
            let store = try global.openStoreForReading()
            if try store.workers().isEmpty, try store.jobs(ids: ids).contains(where: { !$0.state.isFinal }) {
                Terminal.note(Self.noWorkersNote)
            }
            let outcome = try JobWaiter(store: store).wait(ids: ids, timeout: timeout.flatMap(DurationText.seconds))
            let jobs: [Job]
            switch outcome {
            case let .finished(j), let .timedOut(j): jobs = j
            }
            if json {
                Terminal.printJSON(.array(jobs.map(\.json)))
            } else {
                print(JobTable.render(jobs))
            }
            if case .timedOut = outcome {
                let open = jobs.filter { !$0.state.isFinal }.count
                Terminal.printError("timed out: \(open) of \(jobs.count) job(s) not final yet")
                throw ExitCode(Self.timedOutStatus)
            }
            let failed = jobs.filter { $0.state != .completed }
            if !failed.isEmpty {
                Terminal.note("\(failed.count) of \(jobs.count) job(s) did not complete: \(failed.map { "\($0.id) \($0.state.rawValue)" }.joined(separator: ", "))")
                throw ExitCode(Self.notCompletedStatus)
            }
        }
    }
}
