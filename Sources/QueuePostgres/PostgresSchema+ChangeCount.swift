extension PostgresSchema {
    /// The sequence every change to the queue's tables counts up (see ``version2(_:)``).
    static let changeSequence = "queuectl_changes"
    /// The sequence every chunk of run output counts up.
    static let outputSequence = "queuectl_output"

    /// How many times `sequence` was counted up, as SQL: `last_value` alone reads the
    /// same before and after the first `nextval` (is_called tells them apart).
    static func countSQL(_ sequence: String) -> String {
        "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM \(sequence))"
    }

    /// Migration 2, "v2-change-count": two sequences that count changes, for
    /// `changeToken` and the console's and dashboard's change signals.
    ///
    /// A statement that changes rows of a queue table (jobs, runs, workers, queues,
    /// schedules, config, events, stops) calls `nextval` on ``changeSequence``; one
    /// that adds run output, on ``outputSequence``. A sequence is the one counter
    /// that costs no hot row: `nextval` takes no lock held to commit and is not
    /// undone by a rollback, so workers on many connections never wait for each
    /// other on it, and readers see it with `SELECT last_value`. The triggers run
    /// once per statement (a batch of 10,000 inserts counts once) and count only
    /// when the statement changed a row, so an idle worker's empty claim counts nothing.
    ///
    /// Not `NOTIFY`: a transaction that notifies takes a lock for the whole
    /// database from its commit's start to its end, so a notification from every
    /// claim and result would put all workers' commits in one line.
    static func version2(_ schema: String) -> [String] {
        let s = "\"\(schema)\""
        let counted = ["jobs", "runs", "workers", "queues", "schedules", "config", "events", "worker_stops", "job_dependencies"]
        var statements = [
            "CREATE SEQUENCE \(s).\(changeSequence)",
            "CREATE SEQUENCE \(s).\(outputSequence)",
            counter(schema, name: "queuectl_changed", sequence: changeSequence),
            counter(schema, name: "queuectl_output_added", sequence: outputSequence),
        ]
        for table in counted { statements += triggers(schema, table: table, function: "queuectl_changed") }
        statements += triggers(schema, table: "run_output", function: "queuectl_output_added", events: ["INSERT"])
        return statements
    }

    /// A statement-level trigger function that counts `sequence` up when the
    /// statement changed a row (its transition table `changed_rows` is not empty).
    private static func counter(_ schema: String, name: String, sequence: String) -> String {
        let s = "\"\(schema)\""
        return """
            CREATE FUNCTION \(s).\(name)() RETURNS TRIGGER LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (SELECT 1 FROM changed_rows) THEN
                    PERFORM nextval('\(s).\(sequence)');
                END IF;
                RETURN NULL;
            END $$
            """
    }

    /// One trigger per event (a transition table belongs to one event).
    private static func triggers(_ schema: String, table: String, function: String,
                                 events: [String] = ["INSERT", "UPDATE", "DELETE"]) -> [String] {
        let s = "\"\(schema)\""
        return events.map { event in
            let rows = event == "DELETE" ? "OLD TABLE" : "NEW TABLE"
            return """
                CREATE TRIGGER \(table)_\(event.lowercased())_counted_change AFTER \(event) ON \(s).\(table)
                REFERENCING \(rows) AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION \(s).\(function)()
                """
        }
    }
}
