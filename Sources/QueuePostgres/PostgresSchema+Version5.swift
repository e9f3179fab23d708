extension PostgresSchema {
    /// Migration 5, "v5-indexed-lookups": `queuectl_settle` finds the jobs it
    /// changes by key, whatever the table's statistics say, and plans each of its
    /// statements once per connection.
    ///
    /// Its statements are cached as generic plans, chosen from statistics taken
    /// when the table looked different:
    /// - the results looked jobs up by `state = 'processing'` through `jobs_state`,
    ///   then matched ids: with statistics that count few processing jobs, every
    ///   result read every processing job (with 20 workers claiming 32 each, 640
    ///   rows per settle). The ids now come as an array (`jobs_id_key`), and the
    ///   state is checked as an expression (`IS TRUE`), which no index answers, so
    ///   the planner cannot go back to the state index;
    /// - the claim's `seq IN (picked)` could become a hash join over a scan of the
    ///   whole table when statistics said the table was small (0.8 ms at 7,000
    ///   rows). It is now `seq = ANY(ARRAY(picked))`, an index lookup per job, as
    ///   the promotion already was.
    ///
    /// And the function always runs its statements on their generic plans
    /// (`plan_cache_mode = force_generic_plan`, for its calls only). Left to choose,
    /// the plan cache compared each generic plan with the custom ones by estimated
    /// cost; beside a million analyzed rows, the claim's generic plan looked dearer
    /// (a `LIMIT` whose value is a parameter counts as a tenth of the candidates),
    /// so every call planned the claim again: a sixth of the server's time per
    /// call, and a claim a million rows made 1.5 times slower than an empty
    /// table's. With the lookups by key above, the generic plans are the good ones.
    ///
    /// The function is version 4's with exactly these changes (``ClaimSQL`` and
    /// ``FinishRunsSQL`` changed the same way as its two conditions): derived from
    /// that frozen text, so the difference is the whole of this migration.
    static func version5(_ schema: String) -> [String] {
        var text = version4(schema)[0]
        func change(_ old: String, _ new: String) {
            precondition(text.contains(old), "migration 5: version 4's function no longer has \(old)")
            text = text.replacingOccurrences(of: old, with: new)
        }
        change("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
        change("LANGUAGE plpgsql AS $$", "LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$")
        change("WHERE j.id = i.id AND j.state = 'processing' AND j.worker_id = p_worker",
               "WHERE j.id = ANY(ARRAY(SELECT x.id FROM input x)) AND j.id = i.id\n"
               + "                          AND (j.state = 'processing') IS TRUE AND j.worker_id = p_worker")
        change("WHERE j.seq IN (SELECT k.seq FROM picked k) AND j.state = 'pending'",
               "WHERE j.seq = ANY(ARRAY(SELECT k.seq FROM picked k)) AND j.state = 'pending'")
        return [text]
    }
}
