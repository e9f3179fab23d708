/// What a recovery sweep (`Recovery.sweep` in QueueRunner) looks at before it
/// releases anything: the registered workers, whose leases ran out, and whether a
/// job may be held by no worker. Every queuectl command that looks at a queue
/// sweeps first, so a store that can read all of it at once (one round trip to a
/// server instead of four) makes every such command faster.
public struct RecoveryView: Sendable {
    /// Every registered worker, oldest first.
    public var workers: [WorkerRecord]
    /// Workers whose lease ran out (judged on the store's clock), by id: the
    /// seconds since their last heartbeat.
    public var expired: [String: Double]
    /// False only when the store found no `processing` job without a registered
    /// worker (true: look, with `releaseOrphanedJobs`).
    public var orphansMayExist: Bool

    public init(workers: [WorkerRecord], expired: [String: Double], orphansMayExist: Bool) {
        self.workers = workers
        self.expired = expired
        self.orphansMayExist = orphansMayExist
    }
}

extension JobStore {
    /// The view from the store's separate reads: the config (for the lease), the
    /// expired workers, the workers (SQLite: each costs microseconds). A store that
    /// can read it in one statement implements it itself (PostgreSQL).
    public func recoveryView(now: Timestamp, judgingLeases: Bool) throws -> RecoveryView {
        var expired: [String: Double] = [:]
        if judgingLeases {
            let leaseTimeout = try config().leaseTimeoutSeconds
            for (worker, silent) in try expiredWorkers(leaseTimeout: leaseTimeout, now: now) { expired[worker.id] = silent }
        }
        return RecoveryView(workers: try workers(), expired: expired, orphansMayExist: true)
    }
}
