import PostgresNIO
import QueueCore

/// Results: a worker's one transaction between runs, and a run's end recorded
/// alone. Every write is fenced on the lease (`worker_id`, `state = 'processing'`
/// and the attempt), so a worker recovery released records nothing.
extension PostgresJobStore {
    /// Records `results`, gives back `unstarted` (claimed ahead, never started:
    /// attempts not counted), fires due schedules, promotes due jobs and claims up
    /// to `request.limit` jobs, all in one transaction. `jobsDone` goes to the
    /// worker's row when it found no job (its heartbeats store it meanwhile).
    ///
    /// Round trips of a worker's usual settle (one result, one claim, no limits,
    /// nothing due): BEGIN, the claim's first statement (promotion, worker, config,
    /// queues), the fenced result with its run, the claim with its runs, COMMIT.
    /// Claiming ahead (`claim-batch`) spreads them over the batch.
    public func settle(_ results: [FinishedRun], givingBack unstarted: [ClaimedJob], request: ClaimRequest,
                       jobsDone: Int?) throws -> Settlement {
        let s = address.quotedSchema
        return try session.transaction {
            var settlement = Settlement()
            // The claim's first statement reads the config too, so it comes first when
            // it can: a job given back gives its queue the turn back, so with jobs to
            // give back the turns are read after them.
            var start: ClaimStart?
            if request.limit > 0, unstarted.isEmpty {
                start = try Self.beginClaims(session, s, workerID: request.workerID, serving: request.queues, now: request.now)
            }
            if !results.isEmpty {
                let config = try start?.config ?? Self.loadConfig(session)
                for run in results {
                    settlement.finished.append(try finishRun(s, run.claimed, workerID: request.workerID,
                                                                  result: run.result, config: config, now: request.now))
                }
            }
            for claimed in unstarted {
                try giveBack(s, job: claimed.job, runID: claimed.runID, workerID: request.workerID, now: request.now)
            }
            if request.limit > 0, start == nil {
                start = try Self.beginClaims(session, s, workerID: request.workerID, serving: request.queues, now: request.now)
            }
            var anyLimit = start?.anyLimit
            if var start {
                if let refused = start.refused {
                    settlement.next = refused
                } else {
                    if start.schedulesDue { try fireDueSchedules(s, config: start.config, now: request.now) }
                    let claimed = try Self.claimJobs(session, s, workerID: request.workerID, start: &start, limit: request.limit,
                                                     now: request.now)
                    if let first = claimed.first {
                        settlement.next = .claimed(first)
                        settlement.ahead = Array(claimed.dropFirst())
                    }
                }
            }
            // A finished job of a queue with a limit frees a place: wake idle workers
            // (jobs becoming pending wake them through the jobs table's trigger).
            if !results.isEmpty {
                if anyLimit == nil {
                    anyLimit = try session.query("SELECT EXISTS (SELECT 1 FROM \(unescaped: s).queues WHERE concurrency IS NOT NULL)")
                        .first?.decode(Bool.self)
                }
                if anyLimit == true { try session.execute("SELECT \(unescaped: s).queuectl_wake()") }
            }
            if let jobsDone, !settlement.next.isClaimed {
                try Self.recordJobsDone(session, s, workerID: request.workerID, jobsDone: jobsDone)
            }
            return settlement
        }
    }

    /// Records a run's end if `workerID` still holds the job at its attempt; nil
    /// when the lease was lost.
    public func finish(_ claimed: ClaimedJob, workerID: String, result: RunResult, now: Timestamp) throws -> Job? {
        let s = address.quotedSchema
        return try session.transaction {
            let job = try finishRun(s, claimed, workerID: workerID, result: result,
                                         config: try Self.loadConfig(session), now: now)
            if job != nil, try session.query("SELECT EXISTS (SELECT 1 FROM \(unescaped: s).queues WHERE concurrency IS NOT NULL)")
                .first?.decode(Bool.self) == true {
                try session.execute("SELECT \(unescaped: s).queuectl_wake()")
            }
            return job
        }
    }

    /// Records a run's end in one statement. The two possible endings
    /// (``RunEnding/alternatives``) are decided first; the fenced UPDATE picks the
    /// one for whether a cancel was requested, so a cancel committed before it
    /// wins and one committed after it finds the job final. The run's row is
    /// closed in the same statement, and it tells whether the job has dependents.
    func finishRun(_ s: String, _ claimed: ClaimedJob, workerID: String, result: RunResult,
                          config: QueueConfig, now: Timestamp) throws -> Job? {
        let job = claimed.job
        let endings = RunEnding.alternatives(job: job, result: result, policy: config.retryPolicy, now: now)
        let running = endings.ifRunning, cancelled = endings.ifCancelRequested
        guard let row = try session.query("""
            WITH ended AS (
                UPDATE \(unescaped: s).jobs
                SET state = CASE WHEN cancel_requested THEN \(cancelled.state.rawValue) ELSE \(running.state.rawValue) END,
                    run_at = CASE WHEN cancel_requested THEN run_at ELSE \((running.retryAt ?? job.runAt).milliseconds) END,
                    updated_at = \(now.milliseconds),
                    last_error = CASE WHEN cancel_requested THEN \(cancelled.error) ELSE \(running.error) END,
                    exit_code = \(result.exitCode), worker_id = NULL
                WHERE id = \(job.id) AND state = 'processing' AND worker_id = \(workerID) AND attempts = \(job.attempts)
                RETURNING cancel_requested
            ), closed AS (
                -- A job claimed ahead starts after its claim: the run keeps its real start.
                UPDATE \(unescaped: s).runs SET finished_at = \((result.finishedAt ?? now).milliseconds),
                    outcome = \(result.outcome.rawValue), exit_code = \(result.exitCode), signal = \(result.signal),
                    error = \(result.error), output_bytes = coalesce(\(result.outputBytes), output_bytes), pid = \(result.pid),
                    pid_start = \(result.pidStartTicks), started_at = coalesce(\(result.startedAt?.milliseconds), started_at),
                    output_lost = \(result.outputLost)
                WHERE id = \(claimed.runID) AND finished_at IS NULL AND EXISTS (SELECT 1 FROM ended)
            )
            SELECT cancel_requested,
                EXISTS (SELECT 1 FROM \(unescaped: s).job_dependencies WHERE depends_on = \(job.id))
            FROM ended
            """).first else { return nil }
        let (wasCancelled, hasDependents) = try row.decode((Bool, Bool).self)
        let next = wasCancelled ? cancelled : running
        if next.state != .completed {
            try recordEnding(jobID: job.id, attempt: job.attempts, state: next.state, retryAt: next.retryAt,
                                      error: next.error, now: now)
        }
        if next.state.isFinal, hasDependents { try settleDependents(of: job.id, endedIn: next.state, now: now) }
        var updated = job
        updated.state = next.state
        updated.runAt = next.retryAt ?? job.runAt
        updated.updatedAt = now
        updated.lastError = next.error
        updated.exitCode = result.exitCode
        updated.workerID = nil
        updated.cancelRequested = next.state == .cancelled && running.state != .cancelled
        return updated
    }

    /// Returns a claimed job whose run never started to `pending`, as if it had not
    /// been claimed: the attempt is not counted, the run leaves no history, and the
    /// queue gets its turn back. A job whose cancel was requested meanwhile ends
    /// cancelled instead. Fenced like a result; returns the state the job is in
    /// now, nil when the worker no longer held it.
    @discardableResult
    func giveBack(_ s: String, job: Job, runID: Int64, workerID: String,
                         now: Timestamp) throws -> JobState? {
        guard let text = try session.query("""
            UPDATE \(unescaped: s).jobs SET state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'pending' END,
                last_error = CASE WHEN cancel_requested THEN \(Cancellation.requestedReason) ELSE last_error END,
                attempts = attempts - 1, worker_id = NULL, updated_at = \(now.milliseconds)
            WHERE id = \(job.id) AND state = 'processing' AND worker_id = \(workerID) AND attempts = \(job.attempts)
            RETURNING state
            """).first?.decode(String.self), let state = JobState(rawValue: text) else { return nil }
        try session.execute("DELETE FROM \(unescaped: s).runs WHERE id = \(runID) AND finished_at IS NULL")
        if state == .pending {
            // The claim took the queue's turn (see QueueTurns); giving the job back
            // gives the turn back too, so a batch cut short keeps the queues' order.
            try session.execute("""
                UPDATE \(unescaped: s).queues SET served = (SELECT min(served) FROM \(unescaped: s).queues) - 1
                WHERE name = \(job.queue) AND (SELECT count(*) FROM \(unescaped: s).queues) > 1
                """)
        }
        if state == .cancelled {
            try Self.recordEvent(session, "cancelled", jobID: job.id, detail: Cancellation.requestedReason, now: now)
            try settleDependents(of: job.id, endedIn: state, now: now)
        }
        return state
    }
}
