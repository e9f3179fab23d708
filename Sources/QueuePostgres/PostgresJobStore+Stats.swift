import PostgresNIO
import QueueCore

/// Recent throughput and latency (`queuectl stats`, the console's header), read
/// from the runs of the last hour through `runs_finished`.
extension PostgresJobStore {
    /// Finished runs in the last minute and in each of the last `minutes` clock minutes.
    public func throughput(now: Timestamp, minutes: Int) throws -> Throughput {
        try readSnapshot {
            var result = Throughput()
            if let row = try session.query("""
                SELECT count(*) FILTER (WHERE outcome = 'succeeded'), count(*) FILTER (WHERE outcome <> 'succeeded')
                FROM runs WHERE finished_at >= \(now.milliseconds - 60_000)
                """).first {
                (result.succeededLastMinute, result.failedLastMinute) = try row.decode((Int, Int).self)
            }
            let minutes = max(1, minutes)
            (result.succeededPerMinute, result.failedPerMinute) = try perMinute(now: now, minutes: minutes)
            return result
        }
    }

    public func stats(now: Timestamp) throws -> QueueStats {
        try readSnapshot {
            var windows: [QueueStats.Window] = []
            for minutes in [1, 5, 60] {
                let since = now.milliseconds - Int64(minutes) * 60_000
                let row = try session.query("""
                    SELECT count(*) FILTER (WHERE outcome = 'succeeded'),
                           count(*) FILTER (WHERE outcome NOT IN ('succeeded', 'cancelled')),
                           count(*) FILTER (WHERE outcome = 'cancelled')
                    FROM runs WHERE finished_at >= \(since)
                    """).first
                let (succeeded, failed, cancelled) = try row?.decode((Int, Int, Int).self) ?? (0, 0, 0)
                windows.append(QueueStats.Window(minutes: minutes, succeeded: succeeded, failed: failed, cancelled: cancelled))
            }
            let hour = windows.last!
            let finished = hour.succeeded + hour.failed
            let successRate = finished > 0 ? Double(hour.succeeded) / Double(finished) : nil
            let hourAgo = now.milliseconds - 3_600_000
            let (succeeded, failed) = try perMinute(now: now, minutes: 30)
            return QueueStats(
                windows: windows, successRate: successRate,
                runDuration: try percentiles("finished_at - started_at", since: hourAgo),
                queueWait: try percentiles("greatest(0, started_at - queued_at)", since: hourAgo),
                perMinute: Array(zip(succeeded, failed)).map { (succeeded: $0, failed: $1) })
        }
    }

    /// Succeeded and failed runs in each of the last `minutes` clock minutes,
    /// oldest first, the current minute last.
    private func perMinute(now: Timestamp, minutes: Int) throws -> ([Int], [Int]) {
        var succeeded = Array(repeating: 0, count: minutes)
        var failed = Array(repeating: 0, count: minutes)
        let first = now.milliseconds / 60_000 - Int64(minutes - 1)
        for row in try session.query("""
            SELECT finished_at / 60000 AS m, count(*) FILTER (WHERE outcome = 'succeeded'),
                   count(*) FILTER (WHERE outcome <> 'succeeded')
            FROM runs WHERE finished_at >= \(first * 60_000) GROUP BY m
            """) {
            let (minute, s, f) = try row.decode((Int64, Int, Int).self)
            let index = Int(minute - first)
            if (0..<minutes).contains(index) {
                succeeded[index] = s
                failed[index] = f
            }
        }
        return (succeeded, failed)
    }

    /// p50, p95 and max of `expression` (ms) over the runs finished since `since`,
    /// in seconds. The ranks are the SQLite store's (`round(q × (n − 1))`, halves
    /// away from zero, as numeric `round` does), and only three values travel.
    private func percentiles(_ expression: String, since: Int64) throws -> QueueStats.Percentiles {
        var p50: Double?, p95: Double?, max: Double?
        for row in try session.query("""
            SELECT i, n, v FROM (
                SELECT \(unescaped: expression) AS v, row_number() OVER (ORDER BY \(unescaped: expression)) - 1 AS i,
                       count(*) OVER () AS n
                FROM runs WHERE finished_at >= \(since)
            ) AS ranked
            WHERE i = round(0.5 * (n - 1)) OR i = round(0.95 * (n - 1)) OR i = n - 1
            """) {
            let (i, n, v) = try row.decode((Int64, Int64, Int64).self)
            let seconds = Double(v) / 1000
            if Double(i) == (0.5 * Double(n - 1)).rounded() { p50 = seconds }
            if Double(i) == (0.95 * Double(n - 1)).rounded() { p95 = seconds }
            if i == n - 1 { max = seconds }
        }
        return .init(p50: p50, p95: p95, max: max)
    }
}
