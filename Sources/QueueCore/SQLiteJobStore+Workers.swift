import GRDB

extension SQLiteJobStore {
    public func registerWorker(_ w: WorkerRecord) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO workers (id, pid, pid_start, host, state, started_at, heartbeat_at, jobs_done, stop_requested)
                VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0)
                """, arguments: [w.id, w.pid, w.pidStartTicks, w.hostname, w.state.rawValue, w.startedAt.milliseconds, w.heartbeatAt.milliseconds])
        }
    }

    public func workers() throws -> [WorkerRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT \(WorkerRecord.columns) FROM workers ORDER BY started_at, id").map(WorkerRecord.init(row:))
        }
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
    public func heartbeat(workerID: String) throws -> Timestamp? {
        try write { db in
            let now = Timestamp.now()
            try db.execute(sql: "UPDATE workers SET heartbeat_at = ? WHERE id = ?", arguments: [now.milliseconds, workerID])
            return db.changesCount > 0 ? now : nil
        }
    }

    public func setWorkerStopping(workerID: String) throws {
        try write { db in
            try db.execute(sql: "UPDATE workers SET state = 'stopping', stop_requested = 1 WHERE id = ?", arguments: [workerID])
        }
    }

    public func requestStop(workerIDs: [String]) throws {
        try write { db in
            for id in workerIDs {
                try db.execute(sql: "UPDATE workers SET stop_requested = 1, state = CASE WHEN state = 'idle' THEN 'stopping' ELSE state END WHERE id = ?",
                               arguments: [id])
            }
        }
    }

    public func deregisterWorker(id: String) throws {
        try write { db in try db.execute(sql: "DELETE FROM workers WHERE id = ?", arguments: [id]) }
    }
}
