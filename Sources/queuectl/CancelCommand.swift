import ArgumentParser
import QueueCore

struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel jobs: waiting ones at once, running ones by stopping their run.",
        discussion: """
            A pending, scheduled, blocked (waiting on dependencies) or failed (waiting to be \
            retried) job becomes cancelled at once. A running job's worker notices within a second, \
            sends its process group SIGTERM, then SIGKILL after kill-grace, records the run \
            as cancelled, and the job becomes cancelled (never retried; only a run that \
            succeeded before the stop leaves it completed). Jobs that depend on a cancelled \
            job are cancelled too, with a reason naming it. cancelled is final: it is \
            not in the DLQ; `queuectl requeue` runs a copy.

            Ids are all or nothing: an unknown id (exit 3) or a job already completed, dead \
            or cancelled (exit 4, naming its state) changes nothing. With --all, every job \
            in --state is cancelled (pending, blocked, failed or processing), in batches, \
            asking nothing but printing what it did.

            Examples:
              queuectl cancel job1
              queuectl cancel job1 job2 && queuectl wait job1 job2
              queuectl cancel --state pending --all
              queuectl cancel --state failed --all --json | jq '.cancelled | length'
            """
    )
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Ids of jobs to cancel.")
    var ids: [String] = []
    @Option(help: ArgumentHelp("With --all: the state whose jobs to cancel (pending, scheduled, blocked, failed, processing).", valueName: "state"))
    var state: JobState?
    @Flag(help: "Cancel every job in --state.")
    var all = false
    @Flag(help: "Print {\"cancelled\": [ids], \"stopping\": [ids], \"dependents\": [ids]}.")
    var json = false

    func validate() throws {
        if all {
            guard ids.isEmpty else { throw ValidationError("give ids or --all with --state, not both") }
            guard let state else { throw ValidationError("--all needs --state (pending, scheduled, blocked, failed or processing)") }
            guard !state.isFinal else { throw ValidationError("--state \(state.rawValue): those jobs are final already") }
        } else {
            guard !ids.isEmpty else { throw ValidationError("give job ids, or --state STATE --all") }
            guard state == nil else { throw ValidationError("--state goes with --all") }
        }
    }

    func run() throws {
        try reportingErrors {
            let store = try global.openExistingStore()
            let report: CancelReport
            if all, let state {
                report = try store.cancelAll(in: state, now: .now())
            } else {
                report = try store.cancel(ids: ids, now: .now())
            }
            if json {
                Terminal.printJSON(.object([
                    ("cancelled", .array(report.cancelled.map(JSONValue.string))),
                    ("stopping", .array(report.stopping.map(JSONValue.string))),
                    ("dependents", .array(report.dependents.map(JSONValue.string))),
                ]))
                return
            }
            for id in report.cancelled { print("\(id)  cancelled") }
            for id in report.stopping { print("\(id)  stopping (running: its worker stops it within a second)") }
            for id in report.dependents { print("\(id)  cancelled (a job it depends on was cancelled)") }
            var parts = ["\(report.cancelled.count) cancelled"]
            if !report.stopping.isEmpty { parts.append("\(report.stopping.count) stopping") }
            if !report.dependents.isEmpty { parts.append("\(report.dependents.count) dependent(s) cancelled") }
            if all, report.count == 0 { Terminal.note("no \(state?.rawValue ?? "") jobs to cancel") } else { Terminal.note(parts.joined(separator: ", ")) }
        }
    }
}
