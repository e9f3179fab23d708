import Foundation
import QueueCore

/// Copies a running job's output from its local file into a store that keeps run
/// output in the database (PostgreSQL), so `logs`, the console and the dashboard
/// on any host see it, live. The heartbeat thread ships what is new at each beat;
/// the worker ships the rest when the run ends, before recording it. On SQLite the
/// local file beside the database is the record, and nothing is shipped.
final class OutputShipper: @unchecked Sendable {
    private let workerID: String
    private let lock = NSLock()
    private var current: (jobID: String, runID: Int64, path: String)?
    private var shipped: Int64 = 0
    /// Most bytes read from the file per append (the file itself is capped by
    /// `output-limit`).
    static let chunkBytes = 256 * 1024

    init(workerID: String) { self.workerID = workerID }

    /// The run whose output to ship from now on (nil between runs).
    func setRun(jobID: String, runID: Int64, path: String) {
        lock.withLock {
            current = (jobID, runID, path)
            shipped = 0
        }
    }

    /// Ships what the file holds beyond what was shipped. With `final`, forgets the
    /// run afterwards and removes the local copy (the database has it all).
    /// Throws when the store could not take it (the caller retries or logs).
    func ship(to store: any LeaseStore, final: Bool = false) throws {
        guard store.keepsOutputInDatabase else {
            if final { lock.withLock { current = nil } }
            return
        }
        try lock.withLock {
            guard let run = current else { return }
            guard let fd = try? OwnedFile.open(run.path, .read) else {
                if final { current = nil }
                return
            }
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: Self.chunkBytes)
            while true {
                let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Self.chunkBytes, off_t(shipped)) }
                guard got > 0 else { break }
                try store.appendOutput(runID: run.runID, workerID: workerID, bytes: Array(buffer.prefix(got)), at: shipped)
                shipped += Int64(got)
            }
            if final {
                unlink(run.path)
                current = nil
            }
        }
    }
}
