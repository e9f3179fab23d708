import ArgumentParser
import Foundation
import QueueCore
import QueueRunner

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the captured output (stdout and stderr) of a job's run.",
        discussion: """
            Prints the latest run by default. Runs are numbered from 1 over the job's \
            whole life, as `show` lists them (a `dlq retry` continues the count). \
            Output beyond the config output-limit is cut, with a note at the end. When the \
            worker could not save the output (logs folder not writable, disk full), prints \
            what was saved, then an error line saying how much was lost, and exits 1.

            Piped or redirected, the output is printed byte for byte. On a terminal, \
            escape sequences and control characters in it are shown (␛[2K, ␇, <U+202E>) \
            instead of obeyed, so a job cannot retitle or rewrite your terminal; colours \
            pass. --raw prints it unchanged there too.

            --follow keeps printing as the job runs, through its retries (each new run \
            is announced on stderr), until the job is final. Its exit status tells how \
            the job ended: 0 completed, 5 dead (retries exhausted) or cancelled. With \
            --run N it follows that one run and exits 0 when it ends.

            Examples:
              queuectl logs job1
              queuectl logs job1 --run 2 | grep -i error
              queuectl logs job1 --follow && echo "job1 succeeded"
            """
    )
    /// `--follow`'s exit status when the job ended dead or cancelled (the same as
    /// `wait`'s for such a job).
    static let jobFailedExitCode: Int32 = 5

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The job id.", completion: JobIDCompletion.any)
    var id: String
    @Option(name: [.customLong("run"), .customLong("attempt")], parsing: .unconditional, help: ArgumentHelp("Which run, numbered as show lists them (default: the latest).", valueName: "n"))
    var runNumber: Int?
    @Flag(name: .shortAndLong, help: "Keep printing new output until the job is final.")
    var follow = false
    @Flag(help: "Print the output unchanged even on a terminal.")
    var raw = false

    func validate() throws {
        if let runNumber, runNumber < 1 { throw ValidationError("--run must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            let store = try global.openStoreForReading()
            _ = try store.job(id: id)
            var output = Output(safe: !raw && isatty(STDOUT_FILENO) != 0)
            guard follow else {
                guard let runID = try store.runID(jobID: id, number: runNumber) else { throw noRun() }
                _ = try output.copy(store: store, jobID: id, runID: runID, from: 0)
                output.finish()
                try checkNothingLost(store: store, runID: runID)
                return
            }
            if runNumber != nil {
                guard let runID = try store.runID(jobID: id, number: runNumber) else { throw noRun() }
                try follow(runID: runID, store: store, output: &output)
                output.finish()
                return
            }
            let final = try followJob(store: store, output: &output, watcher: Self.watcher(store))
            output.finish()
            if final != .completed { throw ExitCode(Self.jobFailedExitCode) }
        }
    }

    /// Wakes a follow waiting for a job's next run on the queue's changes, instead
    /// of reading the database every 100 ms through a retry's backoff.
    private static func watcher(_ store: any JobStore) -> ChangeWatcher {
        ChangeWatcher(store: store)
    }

    private func noRun() -> QueueError {
        QueueError.notFound(runNumber.map { "job \(SafeText.quoted(id)) has no run \($0)" } ?? "job \(SafeText.quoted(id)) has not run yet")
    }

    /// Follows the job's runs, one after another, until it is final; returns its
    /// final state.
    private func followJob(store: any JobStore, output: inout Output, watcher: ChangeWatcher) throws -> JobState {
        // Start with the latest run, then take every later run in turn (none is
        // skipped, however quickly they come).
        guard var current = try store.runID(jobID: id, number: nil) ?? waitForFirstRun(store: store, watcher: watcher) else {
            return try store.job(id: id).state
        }
        while true {
            try follow(runID: current, store: store, output: &output)
            while true {
                if let next = try store.runs(jobID: id).first(where: { $0.id > current }) {
                    Terminal.note("--- run #\(next.number) ---")
                    current = next.id
                    break
                }
                // No later run: the job is final, or waits for its next run.
                let state = try store.job(id: id).state
                if Self.isFinal(state), try store.runID(jobID: id, number: nil) == current { return state }
                watcher.wait(seconds: ChangeWatcher.fallbackSeconds)
            }
        }
    }

    /// Waits for a job that has not run yet to start its first run; nil if it
    /// became final without one.
    private func waitForFirstRun(store: any JobStore, watcher: ChangeWatcher) throws -> Int64? {
        while true {
            if let first = try store.runID(jobID: id, number: nil) { return first }
            if Self.isFinal(try store.job(id: id).state) { return nil }
            watcher.wait(seconds: ChangeWatcher.fallbackSeconds)
        }
    }

    /// Prints one run's output until the run ends.
    /// How often a running job's log is read again: a chatty job would otherwise
    /// wake a change-driven follow at every write.
    static let runningPollMicroseconds: useconds_t = 100_000

    private func follow(runID: Int64, store: any JobStore, output: inout Output) throws {
        var offset = try output.copy(store: store, jobID: id, runID: runID, from: 0)
        while try store.runIsActive(runID: runID) {
            usleep(Self.runningPollMicroseconds)
            offset = try output.copy(store: store, jobID: id, runID: runID, from: offset)
        }
        _ = try output.copy(store: store, jobID: id, runID: runID, from: offset)
        try checkNothingLost(store: store, runID: runID)
    }

    /// Fails (exit 1, after printing what there is) when the run's output was not
    /// all saved (see RunResult.outputLost) or its log has gone missing, so an empty
    /// print is never taken for a job that printed nothing.
    private func checkNothingLost(store: any JobStore, runID: Int64) throws {
        guard let run = try store.runs(jobID: id).first(where: { $0.id == runID }) else { return }
        if let lost = run.outputLost {
            throw QueueError.runtime("job \(SafeText.quoted(id)) run #\(run.number): \(lost)")
        }
        if (run.outputBytes ?? 0) > 0, !(try store.runOutput(jobID: id, runID: runID, from: 0, limit: 0).exists) {
            throw QueueError.runtime("job \(SafeText.quoted(id)) run #\(run.number) printed \(run.outputBytes ?? 0) bytes, but its log \(store.location.runLogPath(jobID: id, runID: runID)) is gone")
        }
    }

    /// States after which nothing more runs.
    static func isFinal(_ state: JobState) -> Bool { state.isFinal }

    /// Stdout, raw or through ``SafeOutputFilter``.
    struct Output {
        var filter: SafeOutputFilter?

        init(safe: Bool) { filter = safe ? SafeOutputFilter() : nil }

        /// Copies a run's output from `offset` to stdout in chunks, wherever the
        /// store keeps it (see `JobReader.runOutput`); returns the new offset. A run
        /// with no output yet copies nothing.
        mutating func copy(store: any JobReader, jobID: String, runID: Int64, from offset: Int64) throws -> Int64 {
            var position = offset
            while true {
                let chunk = try store.runOutput(jobID: jobID, runID: runID, from: position, limit: 1 << 16)
                guard !chunk.bytes.isEmpty else { return position }
                let data = Data(chunk.bytes)
                write(filter == nil ? data : Data(filter!.filter(data)))
                position += Int64(chunk.bytes.count)
            }
        }

        mutating func finish() {
            if filter != nil { write(Data(filter!.finish())) }
        }

        private func write(_ data: Data) {
            FileHandle.standardOutput.write(data)
        }
    }
}
