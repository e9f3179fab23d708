extension PostgresSchema {
    /// Migration 4, "v4-settle-function": a worker's usual settle in one call.
    ///
    /// `queuectl_settle` does on the server what a worker's settle transaction does
    /// in five statements (`BEGIN`, the claim's first statement, the results, the
    /// claim, `COMMIT`), in the common case only: every result a success, and one
    /// open queue to claim from, without a concurrency limit and with no schedule
    /// due. A worker then waits for one answer per batch instead of four, and on a
    /// machine whose cores the jobs keep busy each answer is a wake-up of three
    /// processes. Nothing is decided here that the domain decides: the runs'
    /// endings arrive decided (the same JSON as the results statement,
    /// ``FinishInput``), and anything that needs a decision the function does not
    /// know is left to the caller:
    ///
    /// - with several queues to take turns between, a queue limit or a schedule
    ///   due, it records the results and answers `claim`: the caller claims in a
    ///   transaction of its own (``PostgresJobStore/claimJobs``);
    /// - when a finished job has dependents, it raises `QC001` and changes nothing:
    ///   the caller settles in the full transaction, which releases them. It looks
    ///   for dependents after its update of the jobs (a statement of its own, with a
    ///   fresh snapshot), so an edge an enqueue added while holding the job's row is
    ///   seen.
    ///
    /// The function runs as one statement, so it commits or changes nothing. Its
    /// rows: one per job claimed (the job's columns as `Job.postgresColumns`, then
    /// the run's id), then one last row whose job columns are NULL, holding how the
    /// settle went (`claimed`, `idle`, `claim`, `stopping` or `released`), the ids of
    /// the jobs whose results were recorded, and the config (keys and values, as
    /// the claim's first statement reads them).
    static func version4(_ schema: String) -> [String] {
        let s = "\"\(schema)\""
        return [
            """
            CREATE FUNCTION \(s).queuectl_settle(p_input JSONB, p_now BIGINT, p_worker TEXT, p_limit INTEGER,
                                                 p_serving TEXT[], p_jobs_done INTEGER)
            RETURNS TABLE (o_id TEXT, o_command TEXT, o_state TEXT, o_attempts INTEGER, o_max_retries INTEGER,
                           o_priority INTEGER, o_run_at BIGINT, o_timeout DOUBLE PRECISION, o_created_at BIGINT,
                           o_updated_at BIGINT, o_last_error TEXT, o_exit_code INTEGER, o_worker_id TEXT, o_queue TEXT,
                           o_options TEXT, o_tags TEXT[], o_unique_key TEXT, o_depends_on TEXT[], o_requeued_from TEXT,
                           o_cancel_requested BOOLEAN, o_run_id BIGINT,
                           o_settled TEXT, o_finished TEXT[], o_config_keys TEXT[], o_config_values DOUBLE PRECISION[])
            LANGUAGE plpgsql AS $$
            DECLARE
                v_stop BOOLEAN;
                v_host TEXT;
                v_queues TEXT[];
                v_settled TEXT := 'idle';
                v_finished TEXT[] := '{}';
                v_claim BOOLEAN := p_limit > 0;
                v_claimed BIGINT := 0;
            BEGIN
                -- The worker's row, FOR KEY SHARE: recovery cannot delete it before this
                -- commits, so it cannot miss a job claimed here.
                SELECT w.stop_requested, w.host INTO v_stop, v_host FROM \(s).workers w WHERE w.id = p_worker FOR KEY SHARE;
                IF NOT FOUND THEN
                    v_settled := 'released'; v_claim := FALSE;
                ELSIF v_stop THEN
                    v_settled := 'stopping'; v_claim := FALSE;
                END IF;
                IF v_claim THEN
                    v_queues := ARRAY(SELECT q.name FROM \(s).queues q
                                      WHERE NOT q.paused AND (p_serving IS NULL OR q.name = ANY(p_serving))
                                      ORDER BY q.served, q.name);
                    IF cardinality(v_queues) > 1
                       OR EXISTS (SELECT 1 FROM \(s).queues q WHERE q.concurrency IS NOT NULL)
                       OR EXISTS (SELECT 1 FROM \(s).schedules c WHERE NOT c.paused AND c.next_at <= p_now) THEN
                        v_settled := 'claim'; v_claim := FALSE;
                    ELSIF cardinality(v_queues) = 0 THEN
                        v_claim := FALSE;
                    END IF;
                END IF;

                -- Jobs whose time came become pending (as the claim's first statement).
                -- Looked for first: an UPDATE that changes nothing still fires the
                -- jobs table's statement triggers. The earliest time read in order
                -- is one entry of jobs_due; an EXISTS leaves the plan free to
                -- scan every waiting job (a million scheduled ones: 300 ms).
                IF (SELECT d.run_at FROM \(s).jobs d WHERE d.state IN ('scheduled', 'failed')
                    ORDER BY d.run_at LIMIT 1) <= p_now THEN
                    UPDATE \(s).jobs j SET state = 'pending'
                    WHERE j.seq = ANY(ARRAY(SELECT d.seq FROM \(s).jobs d
                                            WHERE d.state IN ('scheduled', 'failed') AND d.run_at <= p_now
                                            ORDER BY d.run_at LIMIT 200 FOR UPDATE SKIP LOCKED))
                      AND j.state IN ('scheduled', 'failed') AND j.run_at <= p_now;
                END IF;

                -- The results, fenced on the lease (as the results statement).
                IF jsonb_array_length(p_input) > 0 THEN
                    WITH input AS MATERIALIZED (
                        SELECT * FROM jsonb_to_recordset(p_input) AS i(
                            id TEXT, attempt INTEGER, run_state TEXT, run_at BIGINT, run_error TEXT,
                            cancel_state TEXT, cancel_error TEXT, exit_code INTEGER,
                            run_id BIGINT, finished_at BIGINT, outcome TEXT, signal INTEGER, error TEXT,
                            output_bytes BIGINT, pid INTEGER, pid_start BIGINT, started_at BIGINT, output_lost TEXT)
                    ), ended AS (
                        UPDATE \(s).jobs AS j
                        SET state = CASE WHEN j.cancel_requested THEN i.cancel_state ELSE i.run_state END,
                            run_at = CASE WHEN j.cancel_requested THEN j.run_at ELSE i.run_at END,
                            updated_at = p_now,
                            last_error = CASE WHEN j.cancel_requested THEN i.cancel_error ELSE i.run_error END,
                            exit_code = i.exit_code, worker_id = NULL
                        FROM input AS i
                        WHERE j.id = i.id AND j.state = 'processing' AND j.worker_id = p_worker AND j.attempts = i.attempt
                        RETURNING j.id
                    ), closed AS (
                        UPDATE \(s).runs AS r
                        SET finished_at = i.finished_at, outcome = i.outcome, exit_code = i.exit_code, signal = i.signal,
                            error = i.error, output_bytes = coalesce(i.output_bytes, r.output_bytes), pid = i.pid,
                            pid_start = i.pid_start, started_at = coalesce(i.started_at, r.started_at),
                            output_lost = i.output_lost
                        FROM input AS i JOIN ended AS e ON e.id = i.id
                        WHERE r.id = i.run_id AND r.finished_at IS NULL
                    )
                    SELECT coalesce(array_agg(e.id), '{}') INTO v_finished FROM ended AS e;
                    IF EXISTS (SELECT 1 FROM \(s).job_dependencies d WHERE d.depends_on = ANY(v_finished)) THEN
                        RAISE EXCEPTION 'a finished job has dependents' USING ERRCODE = 'QC001';
                    END IF;
                    -- A finished job of a queue with a limit frees a place.
                    IF EXISTS (SELECT 1 FROM \(s).queues q WHERE q.concurrency IS NOT NULL) THEN
                        PERFORM \(s).queuectl_wake();
                    END IF;
                END IF;

                -- The claim from the one queue (as the claim statement).
                IF v_claim THEN
                    RETURN QUERY
                    WITH picked AS MATERIALIZED (
                        SELECT p.seq FROM \(s).jobs p
                        WHERE p.state = 'pending' AND p.queue = v_queues[1] AND p.run_at <= p_now
                          AND NOT EXISTS (SELECT 1 FROM \(s).queues q WHERE q.name = v_queues[1] AND q.paused)
                        ORDER BY p.priority DESC, p.run_at, p.seq LIMIT p_limit FOR UPDATE SKIP LOCKED
                    ), claimed AS (
                        UPDATE \(s).jobs j
                        SET state = 'processing', attempts = j.attempts + 1, worker_id = p_worker, updated_at = p_now
                        WHERE j.seq IN (SELECT k.seq FROM picked k) AND j.state = 'pending'
                        RETURNING j.seq, j.id, j.command, j.state, j.attempts, j.max_retries, j.priority, j.run_at,
                                  j.timeout, j.created_at, j.updated_at, j.last_error, j.exit_code, j.worker_id, j.queue,
                                  j.options, j.tags, j.unique_key, j.depends_on, j.requeued_from, j.cancel_requested
                    ), opened AS (
                        INSERT INTO \(s).runs (job_id, attempt, worker_id, host, queued_at, started_at)
                        SELECT c.id, c.attempts, c.worker_id, v_host, c.run_at, p_now FROM claimed c
                        ORDER BY c.priority DESC, c.run_at, c.seq
                        RETURNING id AS run_id, job_id
                    )
                    SELECT c.id, c.command, c.state, c.attempts, c.max_retries, c.priority, c.run_at, c.timeout,
                           c.created_at, c.updated_at, c.last_error, c.exit_code, c.worker_id, c.queue, c.options, c.tags,
                           c.unique_key, c.depends_on, c.requeued_from, c.cancel_requested, o.run_id,
                           NULL::TEXT, NULL::TEXT[], NULL::TEXT[], NULL::DOUBLE PRECISION[]
                    FROM claimed c JOIN opened o ON o.job_id = c.id
                    ORDER BY o.run_id;
                    GET DIAGNOSTICS v_claimed = ROW_COUNT;
                    IF v_claimed > 0 THEN v_settled := 'claimed'; END IF;
                END IF;
                IF v_claimed = 0 AND p_jobs_done IS NOT NULL THEN
                    UPDATE \(s).workers w SET jobs_done = greatest(w.jobs_done, p_jobs_done) WHERE w.id = p_worker;
                END IF;

                RETURN QUERY SELECT NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::INTEGER, NULL::INTEGER, NULL::INTEGER,
                    NULL::BIGINT, NULL::DOUBLE PRECISION, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::INTEGER, NULL::TEXT,
                    NULL::TEXT, NULL::TEXT, NULL::TEXT[], NULL::TEXT, NULL::TEXT[], NULL::TEXT, NULL::BOOLEAN, NULL::BIGINT,
                    v_settled, v_finished,
                    ARRAY(SELECT k.key FROM \(s).config k WHERE k.value IS NOT NULL ORDER BY k.key),
                    ARRAY(SELECT k.value FROM \(s).config k WHERE k.value IS NOT NULL ORDER BY k.key);
            END $$
            """,
        ]
    }
}
