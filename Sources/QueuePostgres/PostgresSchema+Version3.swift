extension PostgresSchema {
    /// Migration 3, "v3-statement-totals": cheaper triggers on the worker's path,
    /// and the finished-runs index covers the outcome.
    ///
    /// - Run totals are kept per statement, not per row. Version 1 ran a PL/pgSQL
    ///   function for each finished run, each an upsert of the same few counter
    ///   rows: a worker recording a batch of 8 results paid 8 calls (about a fifth
    ///   of the server's time for the whole result statement), and a bulk ending of
    ///   N runs in one transaction rewrote the same row N times, each time behind a
    ///   longer chain of its dead versions. Now one upsert per statement adds up
    ///   the runs that statement finished, grouped by outcome and bucket.
    /// - The job-count trigger returns at once for a statement that changed no
    ///   row (the claim's promotion of due jobs, almost always empty, paid a full
    ///   upsert for nothing), and looks for jobs that became `pending` only when
    ///   the statement left some job `pending` (claims and results never do).
    /// - `runs_finished` indexes `(finished_at, outcome)`: the runs per minute by
    ///   outcome (the console's and dashboard's chart, `stats`) read the index, not
    ///   every run row of the last half hour. A finished run still writes one entry.
    static func version3(_ schema: String) -> [String] {
        let s = "\"\(schema)\""
        // The buckets of version 1's runs_totalled, unchanged.
        let bucket = "CASE " + PostgresJobStore.runDurationBoundsMilliseconds.map { "WHEN d <= \($0) THEN \($0)" }.joined(separator: " ") + " ELSE -1 END"
        func totals(from finished: String) -> String {
            """
            INSERT INTO \(s).run_totals AS t (outcome, le_ms, shard, n, sum_ms)
            SELECT outcome, \(bucket), \(s).queuectl_shard(), count(*), sum(d)
            FROM (\(finished)) AS f
            GROUP BY outcome, 2 ORDER BY outcome, 2
            ON CONFLICT (outcome, le_ms, shard) DO UPDATE SET n = t.n + excluded.n, sum_ms = t.sum_ms + excluded.sum_ms;
            """
        }
        return [
            "DROP INDEX \(s).runs_finished",
            "CREATE INDEX runs_finished ON \(s).runs (finished_at, outcome) WHERE finished_at IS NOT NULL",
            "DROP TRIGGER runs_totalled_finish ON \(s).runs",
            "DROP TRIGGER runs_totalled_insert ON \(s).runs",
            "DROP FUNCTION \(s).runs_totalled()",
            // Runs an UPDATE finished: finished_at went from NULL to a time.
            """
            CREATE FUNCTION \(s).runs_totalled_update() RETURNS TRIGGER LANGUAGE plpgsql AS $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM new_rows WHERE finished_at IS NOT NULL) THEN RETURN NULL; END IF;
                \(totals(from: """
                    SELECT coalesce(n.outcome, '') AS outcome, greatest(0, n.finished_at - n.started_at) AS d
                    FROM new_rows n JOIN old_rows o ON o.id = n.id
                    WHERE o.finished_at IS NULL AND n.finished_at IS NOT NULL
                    """))
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER runs_totalled_update AFTER UPDATE ON \(s).runs
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION \(s).runs_totalled_update()
            """,
            // Runs inserted already finished (a run that could not start).
            """
            CREATE FUNCTION \(s).runs_totalled_insert() RETURNS TRIGGER LANGUAGE plpgsql AS $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM inserted WHERE finished_at IS NOT NULL) THEN RETURN NULL; END IF;
                \(totals(from: """
                    SELECT coalesce(outcome, '') AS outcome, greatest(0, finished_at - started_at) AS d
                    FROM inserted WHERE finished_at IS NOT NULL
                    """))
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER runs_totalled_insert AFTER INSERT ON \(s).runs
            REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION \(s).runs_totalled_insert()
            """,
            """
            CREATE OR REPLACE FUNCTION \(s).jobs_counted_update() RETURNS TRIGGER LANGUAGE plpgsql AS $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
                INSERT INTO \(s).job_counts AS c (queue, state, shard, n)
                SELECT queue, state, \(s).queuectl_shard(), sum(delta) FROM (
                    SELECT queue, state, -1 AS delta FROM old_rows
                    UNION ALL
                    SELECT queue, state, 1 FROM new_rows
                ) AS changes
                GROUP BY queue, state HAVING sum(delta) <> 0 ORDER BY queue, state
                ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n;
                IF EXISTS (SELECT 1 FROM new_rows WHERE state = 'pending')
                   AND EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.seq = n.seq
                               WHERE n.state = 'pending' AND o.state <> 'pending') THEN
                    PERFORM \(s).queuectl_wake();
                END IF;
                RETURN NULL;
            END $$
            """,
        ]
    }
}
