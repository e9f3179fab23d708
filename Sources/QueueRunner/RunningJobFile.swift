import Foundation
import QueueCore

/// Where a worker publishes the last run it started and, while that run goes on,
/// its process group: `<db>-logs/workers/<worker-id>.run`, one fixed-width line
/// `RUN-ID PID START-TICKS` rewritten in place (PID 0: no process running).
///
/// Recovery needs the group to kill a dead worker's leftovers (the job's shell dies
/// with the worker through PR_SET_PDEATHSIG, but what the shell started does not),
/// and the run id to tell the jobs the worker started from those it had claimed
/// ahead and never started (given back without counting an attempt). The run id is
/// written before the spawn, so a run that started is never taken for one that did
/// not. Only processes on this host read it, and only once the worker is dead or
/// stalled, so the line is written into a shared mapping of the file with no system
/// call at all (it is written three times per job); the page outlives the process
/// in the page cache. A database commit per spawn would cost more than the rest of
/// the queue's work per job.
///
/// Recovery kills the process group a dead worker's file names, so the file is
/// trusted only in a private folder of this user, as a regular file of this user
/// (see PrivateFolder, OwnedFile), and the group only while its leader's start time
/// matches (see ProcessIdentity.signalJobGroup).
public struct RunningJobFile {
    public let path: String
    private let fd: Int32
    /// The file's first `width` bytes, mapped shared; nil if mapping failed (then
    /// each line is written with `pwrite`).
    private let mapping: UnsafeMutableRawPointer?
    static let width = 64

    public init(location: DatabaseLocation, workerID: String) throws {
        try location.prepareLogsFolder()
        path = Self.path(location: location, workerID: workerID)
        fd = try PrivateFolder.openFile(path, .replace)
        var mapped: UnsafeMutableRawPointer?
        if ftruncate(fd, off_t(Self.width)) == 0 {
            let address = mmap(nil, Self.width, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
            if let address, address != MAP_FAILED { mapped = address }
        }
        mapping = mapped
        started(runID: 0)
    }

    public static func path(location: DatabaseLocation, workerID: String) -> String {
        location.workersFolder + "/\(workerID).run"
    }

    /// Records that run `runID` runs in the group led by (`pid`, `startTicks`).
    public func publish(runID: Int64, pid: Int, startTicks: Int64) {
        write(runID, Int64(pid), startTicks)
    }

    /// Records that run `runID` is about to start (and, after a run, that no
    /// process of this worker is running).
    public func started(runID: Int64) { publish(runID: runID, pid: 0, startTicks: 0) }

    public func remove() {
        if let mapping { munmap(mapping, Self.width) }
        close(fd)
        unlink(path)
    }

    /// Writes `RUN-ID PID START-TICKS`, space-padded to the fixed width, in one
    /// copy (formatted by hand: this runs three times per job).
    private func write(_ numbers: Int64...) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.width) { line in
            line.initialize(repeating: UInt8(ascii: " "))
            line[Self.width - 1] = UInt8(ascii: "\n")
            var end = 0
            for (i, number) in numbers.enumerated() {
                if i > 0 { end += 1 }
                if number < 0 {
                    line[end] = UInt8(ascii: "-")
                    end += 1
                }
                var count = 1
                var scan = number.magnitude
                while scan >= 10 { scan /= 10; count += 1 }
                guard end + count < Self.width else { break }   // cannot happen: 3 × 21 < 64
                var rest = number.magnitude
                for position in stride(from: end + count - 1, through: end, by: -1) {
                    line[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                end += count
            }
            if let mapping {
                mapping.copyMemory(from: line.baseAddress!, byteCount: Self.width)
            } else {
                _ = pwrite(fd, line.baseAddress, Self.width, 0)
            }
        }
    }

    /// What a worker last published: (runID, pid, startTicks), if anything; pid 0
    /// when no run of it is going on.
    public static func read(location: DatabaseLocation, workerID: String) -> (runID: Int64, pid: Int, startTicks: Int64)? {
        guard let fd = try? PrivateFolder.openFile(path(location: location, workerID: workerID), .readTrusted) else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: width)
        let count = Glibc.read(fd, &bytes, width)
        guard count > 0 else { return nil }
        let text = String(decoding: bytes[0..<count], as: UTF8.self)
        let parts = text.split(separator: " ", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard parts.count >= 3, let run = Int64(parts[0]), let pid = Int(parts[1]), let ticks = Int64(parts[2]) else { return nil }
        return (run, pid, ticks)
    }
}
