/// Enough of a ``RecoveryView`` to tell that a recovery sweep would release
/// nothing, small enough to ride along with `list`'s first page on a server
/// (one statement after connecting instead of two). When it cannot tell
/// (`Recovery.wouldChangeNothing` in QueueRunner is false), the command sweeps
/// the usual way, reading the whole view, and reads its page again.
public struct SweepCheck: Sendable, Equatable {
    /// Where a registered worker runs: a sweep releases a worker of its own host
    /// whose process is gone.
    public struct Worker: Sendable, Equatable {
        public var hostname: String
        public var pid: Int
        public var pidStartTicks: Int64

        public init(hostname: String, pid: Int, pidStartTicks: Int64) {
            self.hostname = hostname
            self.pid = pid
            self.pidStartTicks = pidStartTicks
        }
    }

    /// Every registered worker.
    public var workers: [Worker]
    /// Some worker's lease ran out (judged on the store's clock).
    public var anyLeaseExpired: Bool
    /// As ``RecoveryView/orphansMayExist``.
    public var orphansMayExist: Bool

    public init(workers: [Worker], anyLeaseExpired: Bool, orphansMayExist: Bool) {
        self.workers = workers
        self.anyLeaseExpired = anyLeaseExpired
        self.orphansMayExist = orphansMayExist
    }
}
