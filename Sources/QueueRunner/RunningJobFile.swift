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
/// not. Only processes on this host read it, so a `pwrite` without fsync is enough;
/// a database commit per spawn would cost a fifth of the queue's overhead per job.
public struct RunningJobFile {
    public let path: String
    private let fd: Int32
    static let width = 64

    public init(location: DatabaseLocation, workerID: String) {
        let dir = location.logsDirectory + "/workers"
        mkdir(dir, 0o700)
        path = Self.path(location: location, workerID: workerID)
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        started(runID: 0)
    }

    public static func path(location: DatabaseLocation, workerID: String) -> String {
        location.logsDirectory + "/workers/\(workerID).run"
    }

    /// Records that run `runID` runs in the group led by (`pid`, `startTicks`).
    public func publish(runID: Int64, pid: Int, startTicks: Int64) {
        write("\(runID) \(pid) \(startTicks)")
    }

    /// Records that run `runID` is about to start (and, after a run, that no
    /// process of this worker is running).
    public func started(runID: Int64) { publish(runID: runID, pid: 0, startTicks: 0) }

    public func remove() {
        if fd >= 0 { close(fd) }
        unlink(path)
    }

    private func write(_ line: String) {
        guard fd >= 0 else { return }
        var bytes = Array(line.utf8.prefix(Self.width - 1))
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: Self.width - 1 - bytes.count) + [UInt8(ascii: "\n")]
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, Self.width, 0) }
    }

    /// What a worker last published: (runID, pid, startTicks), if anything; pid 0
    /// when no run of it is going on.
    public static func read(location: DatabaseLocation, workerID: String) -> (runID: Int64, pid: Int, startTicks: Int64)? {
        guard let text = try? String(contentsOfFile: path(location: location, workerID: workerID), encoding: .utf8) else { return nil }
        let parts = text.split(separator: " ", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard parts.count >= 3, let run = Int64(parts[0]), let pid = Int(parts[1]), let ticks = Int64(parts[2]) else { return nil }
        return (run, pid, ticks)
    }
}
