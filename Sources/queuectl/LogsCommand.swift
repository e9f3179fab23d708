import ArgumentParser
import Foundation
import QueueCore

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the captured output (stdout and stderr) of a job's run.",
        discussion: """
            Prints the latest run by default, raw, on stdout, so it pipes into other tools. \
            Output beyond the config output-limit is cut, with a note at the end. When the \
            worker could not save the output (logs folder not writable, disk full), prints \
            what was saved, then an error line saying how much was lost, and exits 1.

            Examples:
              queuectl logs job1
              queuectl logs job1 --attempt 2 | grep -i error
              queuectl logs job1 --follow       # stream a running job's output until it ends
            """
    )
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The job id.", completion: JobIDCompletion.any)
    var id: String
    @Option(help: "Which attempt (default: the latest run).")
    var attempt: Int?
    @Flag(name: .shortAndLong, help: "Keep printing new output until the run ends.")
    var follow = false

    func run() throws {
        try reportingErrors {
            let store = try global.openStoreForReading()
            _ = try store.job(id: id)
            var runID = try store.runID(jobID: id, attempt: attempt)
            if runID == nil && follow && attempt == nil {
                // Wait for the first run to start.
                while runID == nil {
                    usleep(100_000)
                    runID = try store.runID(jobID: id, attempt: nil)
                }
            }
            guard let runID else {
                throw QueueError.notFound(attempt.map { "job '\(id)' has no attempt \($0)" } ?? "job '\(id)' has not run yet")
            }
            let path = store.location.runLogPath(jobID: id, runID: runID)
            var offset: UInt64 = 0
            offset = try copy(path: path, from: offset)
            if follow {
                while try store.runIsActive(runID: runID) {
                    usleep(100_000)
                    offset = try copy(path: path, from: offset)
                }
                _ = try copy(path: path, from: offset)
            }
            try checkNothingLost(store: store, runID: runID, path: path)
        }
    }

    /// Fails (exit 1, after printing what there is) when the run's output was not
    /// all saved (see RunResult.outputLost) or its log has gone missing, so an empty
    /// print is never taken for a job that printed nothing.
    private func checkNothingLost(store: SQLiteJobStore, runID: Int64, path: String) throws {
        guard let run = try store.runs(jobID: id).first(where: { $0.id == runID }) else { return }
        if let lost = run.outputLost {
            throw QueueError.runtime("job '\(id)' attempt \(run.attempt): \(lost)")
        }
        if (run.outputBytes ?? 0) > 0, access(path, F_OK) != 0 {
            throw QueueError.runtime("job '\(id)' attempt \(run.attempt) printed \(run.outputBytes ?? 0) bytes, but its log \(path) is gone")
        }
    }

    /// Copies the file from `offset` to stdout in chunks; returns the new offset.
    /// The log is opened without following a link (see OwnedFile); a missing one
    /// copies nothing.
    private func copy(path: String, from offset: UInt64) throws -> UInt64 {
        let fd: Int32
        do {
            fd = try OwnedFile.open(path, .read)
        } catch let error as QueueError where error.kind == .notFound {
            return offset
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        try handle.seek(toOffset: offset)
        var position = offset
        while let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty {
            FileHandle.standardOutput.write(chunk)
            position += UInt64(chunk.count)
        }
        return position
    }
}
