import Foundation
import QueueCore

/// `enqueue -`: jobs as JSON lines, or one JSON array, on stdin; any number of them.
///
/// stdin is read to its end before the write transaction begins, so a slow producer
/// (`generate | queuectl enqueue -`) never holds the database's write lock. The jobs
/// are then parsed and inserted in batches inside that one transaction (all or
/// nothing), and what is to be printed is kept aside until it commits. The input and
/// the output are each held in memory up to ``memoryLimit`` and beyond it in a
/// temporary file, so memory stays bounded whatever the input's size.
enum StdinJobs {
    static let batchSize = 1024
    static let memoryLimit = 1 << 20

    /// Reads stdin, enqueues its jobs and prints their ids (or, with `jsonOutput`, a
    /// JSON array of the jobs). `transform` applies the command line's flags to
    /// each job. A job not queued because its unique key is held prints the
    /// holder's id, with a note on stderr.
    static func enqueue(db: String?, jsonOutput: Bool, transform: (JobSpec) throws -> JobSpec = { $0 }) throws {
        guard fcntl(STDIN_FILENO, F_GETFD) != -1 else {
            throw QueueError.invalidInput("stdin is closed; give the jobs on stdin, or one job as an argument")
        }
        let input = ByteSpool(memoryLimit: memoryLimit)
        try input.append(readingFrom: STDIN_FILENO, name: "stdin")
        var reader = try input.jsonSequence()
        let output = ByteSpool(memoryLimit: memoryLimit)
        var index = 0
        var printed = 0
        func nextBatch() throws -> [JobSpec]? {
            var batch: [JobSpec] = []
            batch.reserveCapacity(batchSize)
            while batch.count < batchSize, let value = try reader.next() {
                index += 1
                do {
                    batch.append(try transform(try JobSpec(json: value)))
                } catch let error as QueueError {
                    throw QueueError.invalidInput("job \(index): \(error.message); nothing was enqueued")
                }
            }
            if index == 0 { throw QueueError.invalidInput("no jobs on stdin") }
            return batch.isEmpty ? nil : batch
        }
        // The first batch is read before the database is opened: bad input in it (the
        // usual case: one or a few jobs) leaves no trace, not even a new database.
        var first = try nextBatch()
        let store = try PlainDatabaseOption(db: db).openStore()
        let count = try store.enqueue(batches: {
            if let batch = first {
                first = nil
                return batch
            }
            return try nextBatch()
        }, total: nil, now: .now()) { enqueued in
            printed += 1
            if enqueued.duplicate { EnqueueCommand.noteDuplicate(enqueued) }
            if jsonOutput {
                let json = EnqueueCommand.json(of: enqueued)
                try output.append((printed == 1 ? "[\n  " : ",\n  ") + json.serialized(pretty: true, indent: 1))
            } else {
                try output.append(SafeText.visible(enqueued.job.id) + "\n")
            }
        }
        if jsonOutput && count > 0 { try output.append("\n]\n") }
        try output.write(to: STDOUT_FILENO)
    }
}
