/// The queue side of a store: what people and scripts change (enqueue, retry,
/// cancel, config, queues, schedules, stops). Each call is one transaction, all
/// or nothing, and wakes idle workers when it makes work claimable.
public protocol JobQueueing: AnyObject, Sendable {
    func enqueue(_ specs: [JobSpec], now: Timestamp) throws -> [Job]
    /// Like `enqueue`, telling which specs were duplicates of a queued unique key.
    func enqueueReportingDuplicates(_ specs: [JobSpec], now: Timestamp) throws -> [EnqueuedJob]
    /// Inserts batches from `nextBatch` (until nil) in one transaction, all or none,
    /// with memory bounded by one batch; `enqueued` sees each job inserted (or,
    /// marked duplicate, the job already queued under its unique key).
    func enqueue(batches nextBatch: () throws -> [JobSpec]?, total: Int?, now: Timestamp,
                 enqueued: (EnqueuedJob) throws -> Void) throws -> Int

    func retryDead(ids: [String], now: Timestamp) throws -> [Job]
    func retryAllDead(now: Timestamp) throws -> Int
    func deleteDead(ids: [String]) throws -> [String]
    func deleteAllDead() throws -> Int
    func requeue(ids: [String], now: Timestamp) throws -> [Job]
    func runNow(ids: [String], now: Timestamp) throws -> [Job]
    func cancel(ids: [String], now: Timestamp) throws -> CancelReport
    func cancelAll(in state: JobState, now: Timestamp, progress: (CancelReport) -> Void) throws -> CancelReport
    /// Deletes final jobs of `state` last changed before `updatedBefore` (or counts them).
    func deleteFinal(state: JobState, updatedBefore: Timestamp?, dryRun: Bool) throws -> Int
    /// One bounded batch of `deleteFinal`, so retention never holds the store long.
    func pruneBatch(state: JobState, updatedBefore: Timestamp?) throws -> Int

    func setConfig(_ key: ConfigKey, _ value: Double) throws
    func unsetConfig(_ key: ConfigKey) throws

    /// Caps the jobs of `queue` held by workers at once (nil or 0: no cap); checked in the claim.
    func setConcurrency(queue: String, _ limit: Int?) throws
    /// Pauses or resumes queues (nil: every known one); returns the queues changed.
    func setPaused(_ paused: Bool, queues: [String]?) throws -> [String]

    func addSchedule(name: String, rule: Schedule.Rule, job: String, catchUpAll: Bool, now: Timestamp) throws -> Schedule
    func removeSchedule(name: String) throws
    func setSchedulePaused(name: String, _ paused: Bool, now: Timestamp) throws -> Schedule

    func requestStop(workerIDs: [String]) throws
    /// Asks every registered worker to stop and counts up the stop generation, in
    /// one transaction. Returns the workers asked (read after the transaction).
    func requestStopOfAllWorkers() throws -> [WorkerRecord]

    /// Throws (one line) when this process cannot write to the store.
    func checkWritable() throws
    /// Wakes idle workers (after a change that makes work claimable outside a store call).
    func ringWorkers()
}

extension JobQueueing {
    public func cancelAll(in state: JobState, now: Timestamp) throws -> CancelReport {
        try cancelAll(in: state, now: now, progress: { _ in })
    }
    public func addSchedule(name: String, rule: Schedule.Rule, job: String, now: Timestamp) throws -> Schedule {
        try addSchedule(name: name, rule: rule, job: job, catchUpAll: false, now: now)
    }
}
