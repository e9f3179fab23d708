import QueueCore
import GRDB

extension SQLiteJobStore {
    /// The migration `v8-job-control`: cancel, dependencies, unique jobs, tags,
    /// per-job options, events.
    ///
    /// New columns are NULL for plain jobs (adding them rewrites nothing). Blocked
    /// and cancelled jobs stay out of `jobs_ready`, whose WHERE names the claimable
    /// states, so jobs waiting on dependencies never cost a claim anything.
    /// `job_dependencies` holds one row per edge, keyed by the job depended on, so
    /// a job's end finds its dependents with one index range; a job's own
    /// dependencies are its `depends_on` column (fixed at enqueue).
    static func migrateJobControl(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE jobs ADD COLUMN options TEXT;
            ALTER TABLE jobs ADD COLUMN tags TEXT;
            ALTER TABLE jobs ADD COLUMN unique_key TEXT;
            ALTER TABLE jobs ADD COLUMN depends_on TEXT;
            ALTER TABLE jobs ADD COLUMN requeued_from TEXT;
            ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER;
            CREATE INDEX jobs_unique_key ON jobs(unique_key) WHERE unique_key IS NOT NULL;
            CREATE TABLE job_dependencies (
                depends_on TEXT NOT NULL,
                job_id     TEXT NOT NULL,
                PRIMARY KEY (depends_on, job_id)
            ) WITHOUT ROWID;
            -- State changes that leave no other row (see QueueEvent): cancels,
            -- retries scheduled, dead, released, dlq retry, requeue, run-now.
            CREATE TABLE events (
                id      INTEGER PRIMARY KEY,
                at      INTEGER NOT NULL,
                job_id  TEXT NOT NULL,
                kind    TEXT NOT NULL,
                attempt INTEGER,
                detail  TEXT
            );
            CREATE INDEX events_job ON events(job_id);
            -- Counts exist for every state, zeros included.
            INSERT OR IGNORE INTO queue_counts(queue, state, n) VALUES ('default', 'blocked', 0), ('default', 'cancelled', 0);
            """)
    }
}
