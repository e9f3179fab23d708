import QueueCore
import GRDB

extension SQLiteJobStore {
    /// Atomically takes the best eligible job (see `JobState` for the rule) for
    /// `workerID`, counts the attempt and opens its run.
    public func claim(workerID: String, now: Timestamp) throws -> ClaimOutcome {
        try claim(workerID: workerID, queues: nil, now: now)
    }

    /// A claim from the queues in `queues` only (nil: every queue).
    public func claim(workerID: String, queues: [String]?, now: Timestamp) throws -> ClaimOutcome {
        try write { db in
            switch try Self.beginClaims(db, workerID: workerID, serving: queues, now: now) {
            case let .refused(outcome): return outcome
            case var .open(turns): return try Self.claimNext(db, workerID: workerID, turns: &turns, config: try Self.loadConfig(db), now: now)
            }
        }
    }

    /// A worker's one transaction between runs: records the results of the runs it
    /// finished, gives back the jobs it claimed ahead and will not start, and claims
    /// up to `claimLimit` jobs (0: none). A worker running a stream of short jobs
    /// claims several at once, so it pays for one commit per batch instead of one
    /// per job (see `ClaimAhead` in QueueRunner).
    ///
    /// Neither touches the worker's row (one page less per commit): what a worker is
    /// doing is read from the jobs it holds (see `workers()`), and its count of jobs
    /// done, `jobsDone`, is stored here only when it runs out of work (and by its
    /// heartbeats meanwhile).
    ///
    /// `queues` are the queues the worker serves (nil: every queue).
    public func settle(_ results: [FinishedRun], givingBack unstarted: [ClaimedJob] = [], workerID: String,
                       queues: [String]? = nil, claimLimit: Int, jobsDone: Int? = nil, now: Timestamp) throws -> Settlement {
        // Jobs given back are waiting again, and a finished job of a queue with a
        // limit frees a place: idle workers may take them at once.
        // Jobs released by a dependency's end are waiting too.
        var wake = !unstarted.isEmpty
        var wokeDependents = false
        defer { if wake || wokeDependents { Doorbell.ring(location) } }
        return try write { db in
            let config = try Self.loadConfig(db)
            var settlement = Settlement()
            for run in results {
                settlement.finished.append(try Self.finish(db, run.claimed, workerID: workerID, result: run.result, config: config,
                                                           now: now, wokeDependents: &wokeDependents))
            }
            // Last claimed first: each job given back puts its queue in front, so
            // the first one claimed ends in front, as if none had been claimed.
            for claimed in unstarted.reversed() {
                try Self.giveBack(db, job: claimed.job, runID: claimed.runID, workerID: workerID, now: now)
            }
            var limitsKnown = false
            if claimLimit > 0 {
                switch try Self.beginClaims(db, workerID: workerID, serving: queues, now: now) {
                case let .refused(outcome):
                    settlement.next = outcome
                case var .open(turns):
                    if !results.isEmpty, turns.anyLimit { wake = true }
                    limitsKnown = true
                    settlement.next = try Self.claimNext(db, workerID: workerID, turns: &turns, config: config, now: now)
                    while settlement.ahead.count + 1 < claimLimit, settlement.next.isClaimed,
                          case let .claimed(more) = try Self.claimNext(db, workerID: workerID, turns: &turns, config: config, now: now) {
                        settlement.ahead.append(more)
                    }
                }
            }
            if !results.isEmpty, !wake, !limitsKnown { wake = try Self.anyQueueHasALimit(db) }
            if let jobsDone, !settlement.next.isClaimed {
                try Self.recordJobsDone(db, workerID: workerID, jobsDone: jobsDone)
            }
            return settlement
        }
    }

    /// Returns a claimed job whose run never started to `pending`, the state it was
    /// claimed from, as if it had not been claimed: the attempt is not counted and
    /// the run leaves no history. Fenced like a result: only the holder's claim is
    /// undone. Returns the state the job is back in, nil when it was no longer held.
    @discardableResult
    static func giveBack(_ db: Database, job: Job, runID: Int64, workerID: String, now: Timestamp) throws -> JobState? {
        // A job whose cancel was requested before it started ends cancelled instead.
        let previous = JobState.pending
        guard let text = try String.fetchOne(db.cachedStatement(sql: """
            UPDATE jobs SET state = CASE WHEN cancel_requested IS NULL THEN ? ELSE 'cancelled' END,
                last_error = CASE WHEN cancel_requested IS NULL THEN last_error ELSE ? END,
                attempts = attempts - 1, worker_id = NULL, updated_at = ?
            WHERE id = ? AND state = 'processing' AND worker_id = ? AND attempts = ?
            RETURNING state
            """), arguments: [previous.rawValue, Cancellation.requestedReason, now.milliseconds, job.id, workerID, job.attempts]),
              let state = JobState(rawValue: text) else { return nil }
        try db.cachedStatement(sql: "DELETE FROM runs WHERE id = ? AND finished_at IS NULL").execute(arguments: [runID])
        if state == .pending {
            // The claim took the queue's turn (see QueueTurns); giving the job back
            // gives the turn back too, so a batch cut short keeps the queues' order.
            try db.cachedStatement(sql: """
                UPDATE queues SET served = (SELECT min(served) FROM queues) - 1
                WHERE name = ? AND (SELECT count(*) FROM queues) > 1
                """).execute(arguments: [job.queue])
        }
        if state == .cancelled {
            try recordEvent(db, "cancelled", jobID: job.id, detail: Cancellation.requestedReason, now: now)
            try settleDependents(db, of: job.id, endedIn: state, now: now)
        }
        return state
    }

    /// How a claim transaction starts: refused, or open with the queues to take turns on.
    enum ClaimStart {
        case refused(ClaimOutcome)
        case open(QueueTurns)
    }

    /// The once-per-transaction part of claiming (the first claim of a batch): the
    /// worker's row says it may claim, jobs that came due are promoted, and the
    /// open queues it serves are read.
    static func beginClaims(_ db: Database, workerID: String, serving: [String]?, now: Timestamp) throws -> ClaimStart {
        guard let stop = try Bool.fetchOne(db.cachedStatement(sql: "SELECT stop_requested FROM workers WHERE id = ?"),
                                           arguments: [workerID]) else {
            return .refused(.workerReleased)
        }
        if stop { return .refused(.stopRequested) }
        try Self.fireDueSchedules(db, now: now)
        try Self.promoteDueJobs(db, now: now)
        return .open(try QueueTurns(db, serving: serving))
    }

    /// Claims the best due job of the first queue in `turns` that has one and is
    /// under its limit (see `QueueTurns` and `JobState` for the rules).
    static func claimNext(_ db: Database, workerID: String, turns: inout QueueTurns, config: QueueConfig,
                          now: Timestamp) throws -> ClaimOutcome {
        for queue in turns.order {
            if let limit = queue.concurrency, try Self.processingCount(db, queue: queue.name) >= limit { continue }
            if let job = try Self.claimJob(db, workerID: workerID, queue: queue.name, now: now) {
                try turns.served(queue.name, db)
                return .claimed(try Self.openRun(db, job: job, workerID: workerID, config: config, now: now))
            }
        }
        return .noJob
    }

    private static func claimJob(_ db: Database, workerID: String, queue: String, now: Timestamp) throws -> Job? {
        let claim = try BoundStatement(db, sql: """
            UPDATE jobs SET state = 'processing', attempts = attempts + 1, worker_id = ?, updated_at = ?
            WHERE seq = (
                SELECT seq FROM jobs INDEXED BY jobs_ready WHERE \(Self.readyCondition) AND queue = ? AND run_at <= ?
                ORDER BY priority DESC, run_at, seq LIMIT 1)
            RETURNING \(Job.columns)
            """)
        var claimed: Job?
        try claim.run([.text(workerID), .int(now.milliseconds), .text(queue), .int(now.milliseconds)]) { claimed = try Job(columns: $0) }
        return claimed
    }

    /// Inserts the history row of a job just claimed.
    private static func openRun(_ db: Database, job: Job, workerID: String, config: QueueConfig, now: Timestamp) throws -> ClaimedJob {
        try BoundStatement(db, sql: """
            INSERT INTO runs (job_id, attempt, worker_id, queued_at, started_at) VALUES (?, ?, ?, ?, ?)
            """).run([.text(job.id), .int(job.attempts), .text(workerID), .int(job.runAt.milliseconds), .int(now.milliseconds)])
        let runID = db.lastInsertedRowID
        return ClaimedJob(job: job, runID: runID, config: config)
    }

    /// Records the end of a run, fenced on the lease: only the worker that holds the
    /// job, for the same attempt, may write. Returns nil when the lease was lost.
    public func finish(_ claimed: ClaimedJob, workerID: String, result: RunResult, now: Timestamp) throws -> Job? {
        var woke = false
        defer { if woke { Doorbell.ring(location) } }
        return try write { db in
            try Self.finish(db, claimed, workerID: workerID, result: result, config: try Self.loadConfig(db), now: now, wokeDependents: &woke)
        }
    }

    /// Records a run's end. The two possible endings (``RunEnding/alternatives``)
    /// are decided first; the statement that checks the fence picks the one for
    /// whether a cancel was requested, so a cancel committed before it wins and one
    /// committed after it finds the job final.
    static func finish(_ db: Database, _ claimed: ClaimedJob, workerID: String, result: RunResult, config: QueueConfig,
                       now: Timestamp, wokeDependents: inout Bool) throws -> Job? {
        let job = claimed.job
        let endings = RunEnding.alternatives(job: job, result: result, policy: config.retryPolicy, now: now)
        var applied: RunEnding?
        try BoundStatement(db, sql: """
            UPDATE jobs SET state = CASE WHEN cancel_requested IS NULL THEN ? ELSE ? END,
                run_at = CASE WHEN cancel_requested IS NULL THEN ? ELSE run_at END, updated_at = ?,
                last_error = CASE WHEN cancel_requested IS NULL THEN ? ELSE ? END, exit_code = ?, worker_id = NULL
            WHERE id = ? AND state = 'processing' AND worker_id = ? AND attempts = ?
            RETURNING cancel_requested IS NOT NULL
            """).run([.text(endings.ifRunning.state.rawValue), .text(endings.ifCancelRequested.state.rawValue),
                      .int((endings.ifRunning.retryAt ?? job.runAt).milliseconds), .int(now.milliseconds),
                      .text(endings.ifRunning.error), .text(endings.ifCancelRequested.error), .int(result.exitCode),
                      .text(job.id), .text(workerID), .int(job.attempts)]) { row in
            applied = row.int(0) != 0 ? endings.ifCancelRequested : endings.ifRunning
        }
        guard let next = applied else { return nil }
        // A job claimed ahead starts after its claim: the run keeps its real start.
        try BoundStatement(db, sql: """
            UPDATE runs SET finished_at = ?, outcome = ?, exit_code = ?, signal = ?, error = ?, output_bytes = ?,
                pid = ?, pid_start = ?, started_at = coalesce(?, started_at), output_lost = ?
            WHERE id = ? AND finished_at IS NULL
            """).run([.int((result.finishedAt ?? now).milliseconds), .text(result.outcome.rawValue), .int(result.exitCode), .int(result.signal),
                      .text(result.error), .int(result.outputBytes), .int(result.pid), .int(result.pidStartTicks),
                      .int(result.startedAt?.milliseconds), .text(result.outputLost), .int(claimed.runID)])
        if next.state != .completed {
            try recordEnding(db, jobID: job.id, attempt: job.attempts, state: next.state, retryAt: next.retryAt, error: next.error, now: now)
        }
        if next.state.isFinal, try settleDependents(db, of: job.id, endedIn: next.state, now: now) { wokeDependents = true }
        var updated = job
        updated.state = next.state
        updated.runAt = next.retryAt ?? job.runAt
        updated.updatedAt = now
        updated.lastError = next.error
        updated.exitCode = result.exitCode
        updated.workerID = nil
        updated.cancelRequested = next.state == .cancelled && endings.ifRunning.state != .cancelled
        return updated
    }

    /// Releases a worker presumed dead: every job it held gets an `interrupted` run and
    /// goes through the retry path; its row is deleted so a stale process that wakes
    /// up finds itself released. For an expired lease, a heartbeat that arrived since
    /// the caller looked cancels the release.
    ///
    /// `startedThrough` is the last run the worker said it started (its running-job
    /// file): a job it claimed ahead with a later run never started, so it is given
    /// back without counting an attempt. nil (nothing known) counts every run.
    /// Returns nil when the worker was not released (already gone, or a heartbeat
    /// cancelled it).
    public func releaseWorker(_ worker: WorkerRecord, loss: WorkerLoss, startedThrough: Int64?,
                              now: Timestamp) throws -> [InterruptedRun]? {
        try write { db in
            guard let heartbeat = try Int64.fetchOne(db, sql: "SELECT heartbeat_at FROM workers WHERE id = ?", arguments: [worker.id]) else {
                return nil
            }
            if case .leaseExpired = loss, heartbeat != worker.heartbeatAt.milliseconds { return nil }
            let interrupted = try Self.interruptJobs(db, sql: JobState.processing.selectionCondition() + " AND worker_id = ?", arguments: [worker.id],
                                                     reason: loss.message, startedThrough: startedThrough, now: now)
            try db.execute(sql: "DELETE FROM workers WHERE id = ?", arguments: [worker.id])
            return interrupted
        }
    }

    public func releaseWorker(_ worker: WorkerRecord, loss: WorkerLoss, now: Timestamp) throws -> [InterruptedRun] {
        try releaseWorker(worker, loss: loss, startedThrough: nil, now: now) ?? []
    }

    public func releaseOrphanedJobs(now: Timestamp) throws -> [InterruptedRun] {
        let condition = JobState.processing.selectionCondition() + " AND (worker_id IS NULL OR worker_id NOT IN (SELECT id FROM workers))"
        // Looking is a read; only orphans found make it a write.
        let any = try read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM jobs WHERE \(condition))") ?? false }
        guard any else { return [] }
        return try write { db in
            try Self.interruptJobs(db, sql: condition, arguments: [], reason: "worker no longer registered", now: now)
        }
    }

    private static func interruptJobs(_ db: Database, sql condition: String, arguments: StatementArguments, reason: String,
                                      startedThrough: Int64? = nil, now: Timestamp) throws -> [InterruptedRun] {
        let jobs = try Row.fetchAll(db, sql: "SELECT \(Job.columns) FROM jobs WHERE \(condition)", arguments: arguments).map(Job.init(row:))
        guard !jobs.isEmpty else { return [] }
        let policy = try loadConfig(db).retryPolicy
        var result: [InterruptedRun] = []
        for job in jobs {
            let run = try Row.fetchOne(db, sql: """
                SELECT id, pid, pid_start FROM runs WHERE job_id = ? AND finished_at IS NULL ORDER BY id DESC LIMIT 1
                """, arguments: [job.id])
            if let run, let startedThrough, let workerID = job.workerID {
                let runID: Int64 = run[0]
                if runID > startedThrough, let state = try giveBack(db, job: job, runID: runID, workerID: workerID, now: now) {
                    result.append(InterruptedRun(runID: nil, jobID: job.id, attempt: job.attempts - 1, workerID: workerID,
                                                 pid: nil, pidStartTicks: nil, newState: state, started: false))
                    continue
                }
            }
            // Read in this transaction: a cancel requested before the release wins.
            let next = RunEnding.decide(job: job, outcome: .interrupted, exitCode: nil, error: reason,
                                        cancelRequested: job.cancelRequested, policy: policy, now: now)
            try db.execute(sql: """
                UPDATE jobs SET state = ?, run_at = ?, updated_at = ?, last_error = ?, exit_code = NULL, worker_id = NULL
                WHERE id = ? AND state = 'processing'
                """, arguments: [next.state.rawValue, (next.retryAt ?? job.runAt).milliseconds, now.milliseconds, next.error, job.id])
            try recordEnding(db, jobID: job.id, attempt: job.attempts, state: next.state, retryAt: next.retryAt, error: next.error, now: now)
            if next.state.isFinal { try settleDependents(db, of: job.id, endedIn: next.state, now: now) }
            if let run {
                let runID: Int64 = run[0]
                try db.execute(sql: "UPDATE runs SET finished_at = ?, outcome = 'interrupted', error = ? WHERE id = ?",
                               arguments: [now.milliseconds, reason, runID])
            }
            result.append(InterruptedRun(runID: run?[0], jobID: job.id, attempt: job.attempts, workerID: job.workerID ?? "",
                                         pid: run?[1], pidStartTicks: run?[2], newState: next.state))
        }
        return result
    }
}
