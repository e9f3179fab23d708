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
    /// A worker's usual settle (every result a success, nothing to give back) is
    /// one call of the schema's settle function (``settleInOneCall``): one round
    /// trip. Anything else, or what that call leaves to its caller, is the
    /// transaction of ``settleInTransaction``.
    public func settle(_ results: [FinishedRun], givingBack unstarted: [ClaimedJob], request: ClaimRequest,
                       jobsDone: Int?) throws -> Settlement {
        if unstarted.isEmpty, !session.inTransaction, results.allSatisfy({ $0.result.outcome == .succeeded }),
           let settlement = try settleInOneCall(results, request: request, jobsDone: jobsDone) {
            return settlement
        }
        return try settleInTransaction(results, givingBack: unstarted, request: request, jobsDone: jobsDone)
    }

    /// The settle as one transaction of statements sent from here. Round trips of
    /// a worker's settle with one result and one claim (no limits, nothing due):
    /// BEGIN (sent ahead, not waited for), the claim's first statement (promotion,
    /// worker, config, queues), the fenced result with its run, the claim with its
    /// runs, COMMIT. Claiming ahead (`claim-batch`) spreads them over the batch.
    func settleInTransaction(_ results: [FinishedRun], givingBack unstarted: [ClaimedJob], request: ClaimRequest,
                             jobsDone: Int?) throws -> Settlement {
        let s = address.quotedSchema
        return try session.transaction {
            var settlement = Settlement()
            // The claim's first statement reads the config too, so it comes first when
            // it can: a job given back gives its queue the turn back, so with jobs to
            // give back the turns are read after them.
            var start: ClaimStart?
            if request.limit > 0, unstarted.isEmpty {
                start = try Self.beginClaims(session, workerID: request.workerID, serving: request.queues, now: request.now)
            }
            if !results.isEmpty {
                let config = try start?.config ?? Self.loadConfig(session)
                settlement.finished = try finishRuns(results, workerID: request.workerID, config: config, now: request.now)
            }
            try giveBack(s, unstarted.map { ($0.job, $0.runID) }, workerID: request.workerID, now: request.now)
            if request.limit > 0, start == nil {
                start = try Self.beginClaims(session, workerID: request.workerID, serving: request.queues, now: request.now)
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
            let job = try finishRuns([FinishedRun(claimed: claimed, result: result)], workerID: workerID,
                                     config: try Self.loadConfig(session), now: now)[0]
            if job != nil, try session.query("SELECT EXISTS (SELECT 1 FROM \(unescaped: s).queues WHERE concurrency IS NOT NULL)")
                .first?.decode(Bool.self) == true {
                try session.execute("SELECT \(unescaped: s).queuectl_wake()")
            }
            return job
        }
    }

    /// `job` as a recorded run's `ending` left it (what a settle returns for it).
    static func recorded(_ job: Job, ending: RunEnding, cancelRequested: Bool, exitCode: Int?, now: Timestamp) -> Job {
        var updated = job
        updated.state = ending.state
        updated.runAt = ending.retryAt ?? job.runAt
        updated.updatedAt = now
        updated.lastError = ending.error
        updated.exitCode = exitCode
        updated.workerID = nil
        updated.cancelRequested = cancelRequested
        return updated
    }

    /// Records the ends of a worker's runs in one statement, however many (a worker
    /// running short jobs records a batch of `claim-batch` at a time): one round
    /// trip and one plan instead of one per run. Each run's two possible endings
    /// (``RunEnding/alternatives``) are decided first; the fenced UPDATE picks the
    /// one for whether a cancel was requested, so a cancel committed before it wins
    /// and one committed after it finds the job final. The runs' rows are closed in
    /// the same statement, and it tells which jobs have dependents. Returns, per
    /// run in order, the job as recorded, nil when the lease was lost.
    func finishRuns(_ runs: [FinishedRun], workerID: String,
                    config: QueueConfig, now: Timestamp) throws -> [Job?] {
        guard !runs.isEmpty else { return [] }
        let endings = runs.map { RunEnding.alternatives(job: $0.claimed.job, result: $0.result, policy: config.retryPolicy, now: now) }
        let input = try FinishInput.json(runs, endings: endings, now: now)
        let rows = try session.prepared(PreparedStatement<FinishRunsSQL>([input, now.milliseconds, workerID]))
        var recorded: [String: (cancelled: Bool, hasDependents: Bool)] = [:]
        for row in rows {
            let (id, cancelled, hasDependents) = try row.decode((String, Bool, Bool).self)
            recorded[id] = (cancelled, hasDependents)
        }
        var jobs: [Job?] = []
        for (run, ending) in zip(runs, endings) {
            let job = run.claimed.job
            guard let (wasCancelled, hasDependents) = recorded[job.id] else {
                jobs.append(nil)
                continue
            }
            let next = wasCancelled ? ending.ifCancelRequested : ending.ifRunning
            if next.state != .completed {
                try recordEnding(jobID: job.id, attempt: job.attempts, state: next.state, retryAt: next.retryAt,
                                 error: next.error, now: now)
            }
            if next.state.isFinal, hasDependents { try settleDependents(of: job.id, endedIn: next.state, now: now) }
            jobs.append(Self.recorded(job, ending: next, cancelRequested: next.state == .cancelled && ending.ifRunning.state != .cancelled,
                                      exitCode: run.result.exitCode, now: now))
        }
        return jobs
    }

    /// Returns claimed jobs whose runs never started to `pending`, as if they had
    /// not been claimed: the attempts are not counted, the runs leave no history,
    /// and their queues get their turns back. A job whose cancel was requested
    /// meanwhile ends cancelled instead. Fenced like a result, per job on its
    /// attempt. Three statements however many jobs (a worker meeting a long run
    /// gives back up to `claim-batch` − 1 at once): the jobs, their runs, and the
    /// turns of their queues (plus an event for each job that ends cancelled). Returns the state each job given back is in now, by
    /// id (a job the worker no longer held is absent).
    @discardableResult
    func giveBack(_ s: String, _ claimed: [(job: Job, runID: Int64)], workerID: String,
                  now: Timestamp) throws -> [String: JobState] {
        guard !claimed.isEmpty else { return [:] }
        var states: [String: JobState] = [:]
        for row in try session.query("""
            UPDATE \(unescaped: s).jobs AS j
            SET state = CASE WHEN j.cancel_requested THEN 'cancelled' ELSE 'pending' END,
                last_error = CASE WHEN j.cancel_requested THEN \(Cancellation.requestedReason) ELSE j.last_error END,
                attempts = j.attempts - 1, worker_id = NULL, updated_at = \(now.milliseconds)
            FROM unnest(\(claimed.map(\.job.id))::TEXT[], \(claimed.map(\.job.attempts))::INTEGER[]) AS g(id, attempt)
            WHERE j.id = g.id AND j.state = 'processing' AND j.worker_id = \(workerID) AND j.attempts = g.attempt
            RETURNING j.id, j.state
            """) {
            let (id, text) = try row.decode((String, String).self)
            states[id] = JobState(rawValue: text)
        }
        let given = claimed.filter { states[$0.job.id] != nil }
        guard !given.isEmpty else { return [:] }
        try session.execute("""
            DELETE FROM \(unescaped: s).runs WHERE id = ANY(\(given.map(\.runID))) AND finished_at IS NULL
            """)
        // The claims took their queues' turns (see QueueTurns); giving the jobs back
        // gives the turns back as if they had not been claimed: the queues to the
        // front in the order they were claimed, the first one's queue in front of
        // all (as the jobs given back one at a time, last claimed first, would:
        // the n-th queue moved would get the first minimum minus n).
        var queues: [String] = []
        for (job, _) in given where states[job.id] == .pending && !queues.contains(job.queue) {
            queues.append(job.queue)
        }
        if !queues.isEmpty {
            try session.execute("""
                UPDATE \(unescaped: s).queues AS q SET served = (SELECT min(served) FROM \(unescaped: s).queues) - g.n
                FROM unnest(\(Array(queues.reversed()))::TEXT[]) WITH ORDINALITY AS g(name, n)
                WHERE q.name = g.name AND (SELECT count(*) FROM \(unescaped: s).queues) > 1
                """)
        }
        for (job, _) in given where states[job.id] == .cancelled {
            try Self.recordEvent(session, "cancelled", jobID: job.id, detail: Cancellation.requestedReason, now: now)
            try settleDependents(of: job.id, endedIn: .cancelled, now: now)
        }
        return states
    }
}
