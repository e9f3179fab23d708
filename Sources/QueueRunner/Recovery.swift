import Foundation
import QueueCore

/// Finds workers that died or stopped heartbeating and releases their jobs.
///
/// Any queuectl process may run a sweep (workers do it every heartbeat; `status`,
/// `list`, `show` and the monitor do it when they look), so a crashed worker's job
/// is back in the retry path within about a second even when no worker is left.
public enum Recovery {
    public struct Report: Sendable, Equatable {
        public var releasedWorkers: [String] = []
        public var interrupted: [InterruptedRun] = []
        /// True when the sweep released no worker and interrupted no run: what was
        /// read before it still stands.
        public var changedNothing: Bool { releasedWorkers.isEmpty && interrupted.isEmpty }
    }

    /// - Parameter judgingLeases: false releases only workers whose process is gone,
    ///   not those whose heartbeat is merely late. A worker passes false for a lease
    ///   after it could not write for longer than a lease itself: the database was
    ///   unavailable to everyone (locked, full), and the others' heartbeats are
    ///   still queued behind the same fault.
    /// - Parameter view: what the store showed just before (read with the queue's
    ///   opening, see `StoreOpener.openForReading`), instead of reading it again.
    @discardableResult
    public static func sweep(store: any JobStore, now: Timestamp = .now(), judgingLeases: Bool = true,
                             view given: RecoveryView? = nil) throws -> Report {
        var report = Report()
        // Leases are judged on the store's clock (the database's for a server store,
        // so clock skew between hosts cannot release a live worker or keep a dead one).
        let view = try given ?? store.recoveryView(now: now, judgingLeases: judgingLeases)
        let expired = view.expired
        for worker in view.workers {
            let loss: WorkerLoss
            if processGone(hostname: worker.hostname, pid: worker.pid, startTicks: worker.pidStartTicks) {
                loss = .processExited
            } else if let silent = expired[worker.id] {
                loss = .leaseExpired(seconds: silent)
            } else {
                continue
            }
            // The worker published its last started run and that run's process group.
            // Which runs started is taken from it only for a process that is gone: a
            // live worker (lease expired) may still start the next one.
            let published = worker.hostname == ProcessIdentity.hostname
                ? RunningJobFile.read(location: store.location, workerID: worker.id) : nil
            let startedThrough = loss == .processExited ? published?.runID : nil
            guard var runs = try store.releaseWorker(worker, loss: loss, startedThrough: startedThrough, now: now) else {
                continue   // a heartbeat arrived meanwhile: not released
            }
            for i in runs.indices where runs[i].host == nil { runs[i].host = worker.hostname }
            if let published, published.pid > 0 {
                for i in runs.indices where runs[i].runID == published.runID && runs[i].pid == nil {
                    runs[i].pid = published.pid
                    runs[i].pidStartTicks = published.startTicks
                }
            }
            unlink(RunningJobFile.path(location: store.location, workerID: worker.id))
            report.releasedWorkers.append(worker.id)
            report.interrupted += runs
        }
        if view.orphansMayExist || !report.releasedWorkers.isEmpty {
            report.interrupted += try store.releaseOrphanedJobs(now: now)
        }
        // A process group id means something only on its own host: another host's
        // runs are left to that host's worker (fenced, it kills its own job).
        for run in report.interrupted where run.host == nil || run.host == ProcessIdentity.hostname {
            if let pid = run.pid {
                ProcessIdentity.signalJobGroup(pgid: pid, startTicks: run.pidStartTicks, signal: SIGKILL)
            }
        }
        if !report.interrupted.isEmpty { store.ringWorkers() }
        return report
    }

    /// True when a sweep would release nothing, judged from `check` the way
    /// ``sweep(store:now:judgingLeases:view:)`` judges each worker: no lease ran
    /// out, no job may be orphaned, and every worker of this host is still running.
    public static func wouldChangeNothing(_ check: SweepCheck) -> Bool {
        !check.anyLeaseExpired && !check.orphansMayExist && !check.workers.contains {
            processGone(hostname: $0.hostname, pid: $0.pid, startTicks: $0.pidStartTicks)
        }
    }

    /// A worker of this host whose process is gone (its pid ended, or now names
    /// another process). Another host's processes cannot be seen from here: such a
    /// worker is judged by its lease alone.
    private static func processGone(hostname: String, pid: Int, startTicks: Int64) -> Bool {
        hostname == ProcessIdentity.hostname && !ProcessIdentity.isAlive(pid: pid, startTicks: startTicks)
    }

    /// A sweep by a process that is not a worker (a command that looks, the
    /// console, `worker stop`): what it released goes to workers.log too, where the
    /// workers' own sweeps log it, so the log names every interrupted job.
    @discardableResult
    public static func sweepNotingInWorkerLog(store: any JobStore, now: Timestamp = .now(),
                                              view: RecoveryView? = nil) throws -> Report {
        let report = try sweep(store: store, now: now, view: view)
        // Most sweeps release nothing: the store's files are not looked up then.
        let lines = Heartbeat.describe(report)
        if !lines.isEmpty { WorkerLogFile.append(lines, location: store.location, label: "queuectl.recovery") }
        return report
    }
}
