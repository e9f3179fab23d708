import QueueCore
import GRDB

extension SQLiteJobStore {
    /// Records a change in the events table (see ``QueueEvent``).
    static func recordEvent(_ db: Database, _ kind: String, jobID: String, attempt: Int? = nil, detail: String? = nil,
                            now: Timestamp) throws {
        try db.cachedStatement(sql: "INSERT INTO events (at, job_id, kind, attempt, detail) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [now.milliseconds, jobID, kind, attempt, detail])
    }

    /// Records the same change for many jobs in one statement; the detail is each
    /// job's `last_error` when `detail` is nil.
    static func recordEvents(_ db: Database, _ kind: String, jobIDs: [String], detail: String? = nil, now: Timestamp) throws {
        guard !jobIDs.isEmpty else { return }
        try db.execute(sql: """
            INSERT INTO events (at, job_id, kind, detail)
            SELECT ?, id, ?, coalesce(?, last_error) FROM jobs WHERE id IN (SELECT value FROM json_each(?))
            """, arguments: [now.milliseconds, kind, detail, JSONValue.array(jobIDs.map(JSONValue.string)).serialized()])
    }

    /// Records the change a run's end made, when it is not a plain completion.
    static func recordEnding(_ db: Database, jobID: String, attempt: Int, state: JobState, retryAt: Timestamp?, error: String?,
                             now: Timestamp) throws {
        guard let kind = QueueEvent.kind(endingIn: state) else { return }
        let detail = state == .failed ? retryAt.map { "retry at \($0.iso8601)" + (error.map { " after: \($0)" } ?? "") } : error
        try recordEvent(db, kind, jobID: jobID, attempt: attempt, detail: detail, now: now)
    }

    /// A cursor that starts at `since`: the first job, run and change at or after it.
    /// Jobs, runs and changes are inserted in time order, so each source's cursor is
    /// the row before its first one at `since` (found by one scan, once per reader).
    public func eventCursor(since: Timestamp) throws -> EventCursor {
        try read { db in try Self.eventCursor(db, since: since, window: nil) }
    }

    /// A cursor placed so that the next read returns about the last `count` events.
    public func eventCursor(last count: Int) throws -> EventCursor {
        try read { db in
            let times = try Int64.fetchAll(db, sql: """
                SELECT at FROM (
                    SELECT created_at AS at FROM jobs WHERE seq > (SELECT coalesce(max(seq), 0) FROM jobs) - ?1
                    UNION ALL SELECT started_at FROM runs WHERE id > (SELECT coalesce(max(id), 0) FROM runs) - ?1
                    UNION ALL SELECT * FROM (SELECT finished_at FROM runs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?1)
                    UNION ALL SELECT at FROM events WHERE id > (SELECT coalesce(max(id), 0) FROM events) - ?1)
                ORDER BY at DESC LIMIT ?1
                """, arguments: [count])
            let since = times.last.map(Timestamp.init(milliseconds:)) ?? .now()
            // Only the newest rows of each source can be that recent.
            return try Self.eventCursor(db, since: since, window: Int64(count))
        }
    }

    /// `window`: look only at the newest this many rows of each source.
    private static func eventCursor(_ db: Database, since: Timestamp, window: Int64?) throws -> EventCursor {
        var cursor = EventCursor(runEndsFrom: since)
        func start(_ table: String, key: String, time: String) throws -> Int64 {
            let newest = try Int64.fetchOne(db, sql: "SELECT coalesce(max(\(key)), 0) FROM \(table)") ?? 0
            let floor = window.map { newest - $0 } ?? 0
            let first = try Int64.fetchOne(db, sql: "SELECT min(\(key)) FROM \(table) WHERE \(key) > ? AND \(time) >= ?",
                                           arguments: [floor, since.milliseconds])
            return (first ?? newest + 1) - 1
        }
        cursor.lastJobSeq = try start("jobs", key: "seq", time: "created_at")
        cursor.lastRunStart = try start("runs", key: "id", time: "started_at")
        cursor.lastChange = try start("events", key: "id", time: "at")
        return cursor
    }

    /// The events after `cursor` (at most `limit` per source), in stream order, and
    /// the cursor moved past them.
    public func events(after cursor: EventCursor, limit: Int = 1000) throws -> (events: [QueueEvent], cursor: EventCursor) {
        try read { db in
            var next = cursor
            var events: [QueueEvent] = []
            for row in try Row.fetchAll(db, sql: """
                SELECT seq, created_at, id, depends_on, requeued_from FROM jobs WHERE seq > ? ORDER BY seq LIMIT ?
                """, arguments: [cursor.lastJobSeq, limit]) {
                // Only what the job was enqueued with: its state now may be later news.
                let dependsOn: String? = row[3]
                let requeuedFrom: String? = row[4]
                let parts = [requeuedFrom.map { "requeued from \($0)" },
                             dependsOn.map { "depends on " + Job.storedStrings($0).joined(separator: ", ") }]
                let detail = parts.compactMap { $0 }.isEmpty ? nil : parts.compactMap { $0 }.joined(separator: "; ")
                events.append(QueueEvent(source: .job, rowID: row[0], at: Timestamp(milliseconds: row[1]), jobID: row[2],
                                         kind: "enqueued", detail: detail))
                next.lastJobSeq = max(next.lastJobSeq, row[0])
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT id, started_at, job_id, attempt, worker_id FROM runs WHERE id > ? ORDER BY id LIMIT ?
                """, arguments: [cursor.lastRunStart, limit]) {
                events.append(QueueEvent(source: .runStart, rowID: row[0], at: Timestamp(milliseconds: row[1]), jobID: row[2],
                                         kind: "started", attempt: row[3], detail: "worker \(row[4] as String)"))
                next.lastRunStart = max(next.lastRunStart, row[0])
            }
            var latestEnd = cursor.runEndsFrom
            for row in try Row.fetchAll(db, sql: """
                SELECT id, finished_at, job_id, attempt, outcome, error FROM runs
                WHERE finished_at IS NOT NULL AND finished_at >= ? ORDER BY finished_at LIMIT ?
                """, arguments: [cursor.runEndsFrom.milliseconds, limit + cursor.seenRunEnds.count]) {
                let id: Int64 = row[0]
                let at = Timestamp(milliseconds: row[1])
                latestEnd = max(latestEnd, at)
                guard !cursor.seenRunEnds.contains(id) else { continue }
                next.seenRunEnds.insert(id)
                let outcome: String = row[4]
                // A cancelled run is told by the job's own `cancelled` change.
                if outcome == RunOutcome.cancelled.rawValue { continue }
                events.append(QueueEvent(source: .runEnd, rowID: id, at: at, jobID: row[2], kind: outcome, attempt: row[3], detail: row[5]))
            }
            // Keep what the lookback may read again; forget older ends.
            next.runEndsFrom = max(cursor.runEndsFrom, latestEnd.adding(seconds: -EventCursor.runEndLookbackSeconds))
            if next.runEndsFrom > cursor.runEndsFrom {
                let keep = try Set(Int64.fetchAll(db, sql: "SELECT id FROM runs WHERE finished_at >= ?", arguments: [next.runEndsFrom.milliseconds]))
                next.seenRunEnds.formIntersection(keep)
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT id, at, job_id, kind, attempt, detail FROM events WHERE id > ? ORDER BY id LIMIT ?
                """, arguments: [cursor.lastChange, limit]) {
                events.append(QueueEvent(source: .change, rowID: row[0], at: Timestamp(milliseconds: row[1]), jobID: row[2],
                                         kind: row[3], attempt: row[4], detail: row[5]))
                next.lastChange = max(next.lastChange, row[0])
            }
            return (events.sorted(by: QueueEvent.precedes), next)
        }
    }
}
