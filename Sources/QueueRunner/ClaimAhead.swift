import QueueCore

/// How many jobs a worker claims in one transaction.
///
/// A commit costs about as much as the queue's whole remaining work for a job, so a
/// worker running a stream of short jobs claims several at once and records their
/// results together: one commit per batch instead of one per job. Jobs claimed
/// ahead show as `processing` until they run, and a long job must not hold them, so
/// the batch grows only while runs stay short: one job at first, doubling after
/// each short run up to `claim-batch`, halving after any run of `shortRunSeconds`
/// or more. A run that passes `shortRunSeconds` makes the worker give back the jobs
/// it claimed ahead and record its finished runs at once (see `Worker`), so a long
/// run holds nothing whatever the batch; halving rather than starting over at one
/// keeps a stream of short jobs with a rare slow one (a busy machine makes even
/// `true` take 10 ms now and then) from paying five small batches to grow back,
/// while a stream of long jobs is back to one at a time within a few runs.
struct ClaimAhead {
    /// A run shorter than this lets the next claim take more jobs.
    static let shortRunSeconds = 0.01
    /// Jobs claimed ahead longer ago than this are given back and claimed afresh
    /// instead of started: the worker was stopped or starved meanwhile.
    static let freshSeconds = 1.0

    /// Whether the next job claimed ahead may start without a transaction. Recovery
    /// releases a worker only after a whole lease without a heartbeat, so while the
    /// claim and the last heartbeat are both younger than half a lease it cannot
    /// have happened (the heartbeat thread alone may be stuck, so both count).
    /// Otherwise the worker settles first: it gives the jobs back and claims again,
    /// a transaction that finds out if the worker was released meanwhile.
    static func canStartAhead(claimAge: Double, heartbeatAge: Double, lease: Double) -> Bool {
        claimAge < min(freshSeconds, lease / 2) && heartbeatAge < lease / 2
    }

    private(set) var limit = 1
    /// `claim-batch` as of the last claim.
    var maximum = 1

    mutating func record(runSeconds: Double) {
        limit = runSeconds < Self.shortRunSeconds ? min(max(1, maximum), limit * 2) : min(max(1, maximum), max(1, limit / 2))
    }
}
