import QueueCore
import GRDB

extension SQLiteJobStore {
    public func registerWorker(_ w: WorkerRecord) throws {
        try write { db in try Self.insertWorker(db, w) }
    }

    private static func insertWorker(_ db: Database, _ w: WorkerRecord) throws {
        try db.execute(sql: """
            INSERT INTO workers (id, pid, pid_start, host, state, started_at, heartbeat_at, jobs_done, stop_requested, queues)
            VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?)
            """, arguments: [w.id, w.pid, w.pidStartTicks, w.hostname, w.state.rawValue, w.startedAt.milliseconds, w.heartbeatAt.milliseconds,
                             w.queues?.joined(separator: ",")])
    }

    /// Every registered worker. What it is doing comes from the job it holds (its
    /// claim time is the job's `updated_at`): claims and results never write the
    /// worker's row, so it cannot disagree with the jobs table.
    public func workers() throws -> [WorkerRecord] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(WorkerRecord.columns) FROM workers w
                LEFT JOIN jobs j ON \(JobState.processing.selectionCondition(table: "j"))
                    AND j.worker_id = w.id
                GROUP BY w.id
                ORDER BY w.started_at, w.id
                """).map(WorkerRecord.init(row:))
        }
    }

    /// Stores a worker's count of finished jobs (kept in the worker's memory, so the
    /// per-job commits leave the row alone); never lowers it.
    static func recordJobsDone(_ db: Database, workerID: String, jobsDone: Int) throws {
        try db.cachedStatement(sql: "UPDATE workers SET jobs_done = max(jobs_done, ?) WHERE id = ?")
            .execute(arguments: [jobsDone, workerID])
    }

    public func heartbeat(workerID: String, now: Timestamp) throws -> Bool {
        try write { db in
            try db.execute(sql: "UPDATE workers SET heartbeat_at = ? WHERE id = ?", arguments: [now.milliseconds, workerID])
            return db.changesCount > 0
        }
    }

    /// Renews a worker's lease with the time the write actually happens, after any
    /// wait for another process's lock: a heartbeat that waited out a long lock must
    /// not land already stale. Returns that time, or nil if the worker was released.
    public func renewLease(workerID: String, jobsDone: Int = 0) throws -> Timestamp? {
        try write { db in
            let now = Timestamp.now()
            try db.execute(sql: "UPDATE workers SET heartbeat_at = ?, jobs_done = max(jobs_done, ?) WHERE id = ?",
                           arguments: [now.milliseconds, jobsDone, workerID])
            return db.changesCount > 0 ? now : nil
        }
    }

    public func registerWorker(_ w: WorkerRecord, unlessStoppedSince generation: Int64) throws -> Bool {
        try write { db in
            guard try Self.stopGeneration(db) <= generation else { return false }
            try Self.insertWorker(db, w)
            return true
        }
    }

    public func stopGeneration() throws -> Int64 {
        try read { db in try Self.stopGeneration(db) }
    }

    static func stopGeneration(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT generation FROM worker_stops WHERE id = 1") ?? 0
    }

    public func requestStopOfAllWorkers() throws -> [WorkerRecord] {
        try write { db in
            try db.execute(sql: "UPDATE worker_stops SET generation = generation + 1 WHERE id = 1")
            try db.execute(sql: "UPDATE workers SET stop_requested = 1")
        }
        // Read after the count went up: a worker registering meanwhile either is in
        // this list (asked to stop above) or was refused.
        return try workers()
    }

    public func requestStop(workerIDs: [String]) throws {
        try write { db in
            for id in workerIDs {
                try db.execute(sql: "UPDATE workers SET stop_requested = 1 WHERE id = ?",
                               arguments: [id])
            }
        }
    }

    public func deregisterWorker(id: String) throws {
        try write { db in try db.execute(sql: "DELETE FROM workers WHERE id = ?", arguments: [id]) }
    }
}
