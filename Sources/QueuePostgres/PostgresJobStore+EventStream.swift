import PostgresNIO
import QueueCore

/// The event stream (`queuectl events`), read from three places like the SQLite
/// store's (see ``QueueEvent``): `enqueued` from jobs, `started` and run ends from
/// runs, every other change from the events table.
///
/// A follower's cursor keeps the last row id it saw of each source. Ids come from
/// sequences, taken when a row is written; with writers on several connections a
/// row can commit after one with a higher id, and a follower that read in between
/// does not see it. Run ends are read again over a lookback window (see
/// ``EventCursor``), so they are not lost that way.
extension PostgresJobStore {
    /// A cursor that starts at `since`: the first job, run and change at or after it.
    public func eventCursor(since: Timestamp) throws -> EventCursor {
        try readSnapshot { try eventCursor(since: since, window: nil) }
    }

    /// A cursor placed so that the next read returns about the last `count` events.
    public func eventCursor(last count: Int) throws -> EventCursor {
        try readSnapshot {
            let count = Int64(max(0, count))
            let times = try session.query("""
                SELECT at FROM (
                    SELECT created_at AS at FROM jobs WHERE seq > (SELECT coalesce(max(seq), 0) FROM jobs) - \(count)
                    UNION ALL SELECT started_at FROM runs WHERE id > (SELECT coalesce(max(id), 0) FROM runs) - \(count)
                    UNION ALL (SELECT finished_at FROM runs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT \(count))
                    UNION ALL SELECT at FROM events WHERE id > (SELECT coalesce(max(id), 0) FROM events) - \(count)
                ) AS recent
                ORDER BY at DESC LIMIT \(count)
                """).map { try $0.decode(Int64.self) }
            let since = times.last.map(Timestamp.init(milliseconds:)) ?? .now()
            // Only the newest rows of each source can be that recent.
            return try eventCursor(since: since, window: count)
        }
    }

    /// `window`: look only at the newest this many rows of each source.
    private func eventCursor(since: Timestamp, window: Int64?) throws -> EventCursor {
        var cursor = EventCursor(runEndsFrom: since)
        func start(_ table: String, key: String, time: String) throws -> Int64 {
            let newest = try session.query("SELECT coalesce(max(\(unescaped: key)), 0)::BIGINT FROM \(unescaped: table)")
                .first?.decode(Int64.self) ?? 0
            let floor = window.map { newest - $0 } ?? 0
            let first = try session.query("""
                SELECT min(\(unescaped: key)) FROM \(unescaped: table)
                WHERE \(unescaped: key) > \(floor) AND \(unescaped: time) >= \(since.milliseconds)
                """).first?.decode(Int64?.self)
            return (first ?? newest + 1) - 1
        }
        cursor.lastJobSeq = try start("jobs", key: "seq", time: "created_at")
        cursor.lastRunStart = try start("runs", key: "id", time: "started_at")
        cursor.lastChange = try start("events", key: "id", time: "at")
        return cursor
    }

    /// The events after `cursor` (at most `limit` per source), in stream order, and
    /// the cursor moved past them.
    public func events(after cursor: EventCursor, limit: Int) throws -> (events: [QueueEvent], cursor: EventCursor) {
        try readSnapshot {
            let limit = max(0, limit)
            var next = cursor
            var events: [QueueEvent] = []
            for row in try session.query("""
                SELECT seq, created_at, id, depends_on, requeued_from FROM jobs WHERE seq > \(cursor.lastJobSeq)
                ORDER BY seq LIMIT \(limit)
                """) {
                let (seq, createdAt, id, dependsOn, requeuedFrom) = try row.decode((Int64, Int64, String, [String]?, String?).self)
                // Only what the job was enqueued with: its state now may be later news.
                let parts = [requeuedFrom.map { "requeued from \($0)" },
                             dependsOn.map { "depends on " + $0.joined(separator: ", ") }].compactMap { $0 }
                events.append(QueueEvent(source: .job, rowID: seq, at: Timestamp(milliseconds: createdAt), jobID: id,
                                         kind: "enqueued", detail: parts.isEmpty ? nil : parts.joined(separator: "; ")))
                next.lastJobSeq = max(next.lastJobSeq, seq)
            }
            for row in try session.query("""
                SELECT id, started_at, job_id, attempt, worker_id FROM runs WHERE id > \(cursor.lastRunStart)
                ORDER BY id LIMIT \(limit)
                """) {
                let (id, startedAt, jobID, attempt, workerID) = try row.decode((Int64, Int64, String, Int, String).self)
                events.append(QueueEvent(source: .runStart, rowID: id, at: Timestamp(milliseconds: startedAt), jobID: jobID,
                                         kind: "started", attempt: attempt, detail: "worker \(workerID)"))
                next.lastRunStart = max(next.lastRunStart, id)
            }
            var latestEnd = cursor.runEndsFrom
            for row in try session.query("""
                SELECT id, finished_at, job_id, attempt, outcome, error FROM runs
                WHERE finished_at IS NOT NULL AND finished_at >= \(cursor.runEndsFrom.milliseconds)
                ORDER BY finished_at LIMIT \(limit + cursor.seenRunEnds.count)
                """) {
                let (id, finishedAt, jobID, attempt, outcome, error) = try row.decode((Int64, Int64, String, Int, String?, String?).self)
                let at = Timestamp(milliseconds: finishedAt)
                latestEnd = max(latestEnd, at)
                guard !cursor.seenRunEnds.contains(id) else { continue }
                next.seenRunEnds.insert(id)
                // A cancelled run is told by the job's own `cancelled` change.
                if outcome == RunOutcome.cancelled.rawValue { continue }
                events.append(QueueEvent(source: .runEnd, rowID: id, at: at, jobID: jobID, kind: outcome ?? "",
                                         attempt: attempt, detail: error))
            }
            // Keep what the lookback may read again; forget older ends.
            next.runEndsFrom = max(cursor.runEndsFrom, latestEnd.adding(seconds: -EventCursor.runEndLookbackSeconds))
            if next.runEndsFrom > cursor.runEndsFrom {
                let keep = try Set(session.query("SELECT id FROM runs WHERE finished_at >= \(next.runEndsFrom.milliseconds)")
                    .map { try $0.decode(Int64.self) })
                next.seenRunEnds.formIntersection(keep)
            }
            for row in try session.query("""
                SELECT id, at, job_id, kind, attempt, detail FROM events WHERE id > \(cursor.lastChange) ORDER BY id LIMIT \(limit)
                """) {
                let (id, at, jobID, kind, attempt, detail) = try row.decode((Int64, Int64, String, String, Int?, String?).self)
                events.append(QueueEvent(source: .change, rowID: id, at: Timestamp(milliseconds: at), jobID: jobID,
                                         kind: kind, attempt: attempt, detail: detail))
                next.lastChange = max(next.lastChange, id)
            }
            return (events.sorted(by: QueueEvent.precedes), next)
        }
    }
}
