import PostgresNIO
import QueueCore

// The statements of a worker's settle transaction, prepared once per connection
// (see PreparedStatement). Table names go without a schema: the connection's
// search_path is its queue's schema.

/// The once-per-transaction part of claiming (``PostgresJobStore/beginClaims``):
/// promotes due jobs, reads the worker's row (`FOR KEY SHARE`), the config, the
/// open queues and whether a schedule is due. `$1` now (ms), `$2` the worker's id.
enum ClaimStartSQL: PreparedText {
    static let sql = """
        WITH promoted AS (
            UPDATE jobs SET state = 'pending'
            WHERE seq = ANY(ARRAY(SELECT seq FROM jobs
                                  WHERE state IN ('scheduled', 'failed') AND run_at <= $1
                                  ORDER BY run_at LIMIT \(PostgresJobStore.promotionBatch) FOR UPDATE SKIP LOCKED))
              AND state IN ('scheduled', 'failed') AND run_at <= $1
            RETURNING 1
        ), w AS (
            SELECT stop_requested, host FROM workers WHERE id = $2 FOR KEY SHARE
        )
        SELECT (SELECT stop_requested FROM w), (SELECT host FROM w),
            ARRAY(SELECT key FROM config WHERE value IS NOT NULL ORDER BY key),
            ARRAY(SELECT value FROM config WHERE value IS NOT NULL ORDER BY key),
            ARRAY(SELECT name FROM queues WHERE NOT paused ORDER BY served, name),
            ARRAY(SELECT coalesce(concurrency, 0)::BIGINT FROM queues WHERE NOT paused ORDER BY served, name),
            EXISTS (SELECT 1 FROM queues WHERE concurrency IS NOT NULL),
            EXISTS (SELECT 1 FROM schedules WHERE NOT paused AND next_at <= $1),
            (SELECT count(*) FROM promoted)
        """
}

/// Claims up to `$3` due jobs of queue `$1` for worker `$4` on host `$5` at `$2`
/// (see ``PostgresJobStore/claimJobs``): takes them in claim order (priority,
/// then `run_at`, then FIFO), skipping rows other claims hold, counts their
/// attempts and opens their runs (run ids in claim order, so a worker's "started
/// through run N" splits started from unstarted).
enum ClaimSQL: PreparedText {
    static let sql = claim(takingTurn: false)

    /// With `takingTurn`, the queue also goes to the back of the queues' turns.
    static func claim(takingTurn: Bool) -> String {
        let turn = takingTurn ? """
            , turn AS (
                UPDATE queues SET served = (SELECT max(served) FROM queues) + 1
                WHERE name = (SELECT queue FROM claimed LIMIT 1)
            )
            """ : ""
        return """
            WITH picked AS MATERIALIZED (
                -- Materialized: evaluated once, so LIMIT holds (a subquery in the
                -- UPDATE's FROM may be scanned again per row, each scan taking more).
                SELECT seq FROM jobs
                WHERE state = 'pending' AND queue = $1 AND run_at <= $2
                  AND NOT EXISTS (SELECT 1 FROM queues q WHERE q.name = $1 AND q.paused)
                ORDER BY priority DESC, run_at, seq LIMIT $3 FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE jobs SET state = 'processing', attempts = attempts + 1, worker_id = $4, updated_at = $2
                WHERE seq = ANY(ARRAY(SELECT seq FROM picked)) AND state = 'pending'
                RETURNING seq, \(Job.postgresColumns)
            ), opened AS (
                INSERT INTO runs (job_id, attempt, worker_id, host, queued_at, started_at)
                SELECT id, attempts, worker_id, $5, run_at, $2 FROM claimed ORDER BY priority DESC, run_at, seq
                RETURNING id AS run_id, job_id
            )\(turn)
            SELECT \(Job.postgresColumns), run_id FROM claimed JOIN opened ON opened.job_id = claimed.id
            ORDER BY run_id
            """
    }
}

/// ``ClaimSQL`` when queues take turns.
enum ClaimTakingTurnSQL: PreparedText {
    static let sql = ClaimSQL.claim(takingTurn: true)
}

/// Records runs' ends (``PostgresJobStore/finishRuns``): `$1` the runs as
/// ``FinishInput`` JSON, `$2` now (ms), `$3` the worker's id. Fenced: a job is
/// changed only while `$3` holds it at the run's attempt; the cancel alternative
/// applies when a cancel was requested. Returns each recorded job's id, whether
/// its cancel was requested and whether it has dependents.
enum FinishRunsSQL: PreparedText {
    static let sql = """
        WITH input AS MATERIALIZED (
            SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(
                id TEXT, attempt INTEGER, run_state TEXT, run_at BIGINT, run_error TEXT,
                cancel_state TEXT, cancel_error TEXT, exit_code INTEGER,
                run_id BIGINT, finished_at BIGINT, outcome TEXT, signal INTEGER, error TEXT,
                output_bytes BIGINT, pid INTEGER, pid_start BIGINT, started_at BIGINT, output_lost TEXT)
        ), ended AS (
            UPDATE jobs AS j
            SET state = CASE WHEN j.cancel_requested THEN i.cancel_state ELSE i.run_state END,
                run_at = CASE WHEN j.cancel_requested THEN j.run_at ELSE i.run_at END,
                updated_at = $2,
                last_error = CASE WHEN j.cancel_requested THEN i.cancel_error ELSE i.run_error END,
                exit_code = i.exit_code, worker_id = NULL
            FROM input AS i
            WHERE j.id = ANY(ARRAY(SELECT id FROM input)) AND j.id = i.id
              AND (j.state = 'processing') IS TRUE AND j.worker_id = $3 AND j.attempts = i.attempt
            RETURNING j.id, j.cancel_requested
        ), closed AS (
            -- A job claimed ahead starts after its claim: the run keeps its real start.
            UPDATE runs AS r
            SET finished_at = i.finished_at, outcome = i.outcome, exit_code = i.exit_code, signal = i.signal,
                error = i.error, output_bytes = coalesce(i.output_bytes, r.output_bytes), pid = i.pid,
                pid_start = i.pid_start, started_at = coalesce(i.started_at, r.started_at), output_lost = i.output_lost
            FROM input AS i JOIN ended AS e ON e.id = i.id
            WHERE r.id = i.run_id AND r.finished_at IS NULL
        )
        SELECT e.id, e.cancel_requested, EXISTS (SELECT 1 FROM job_dependencies WHERE depends_on = e.id)
        FROM ended AS e
        """
}
