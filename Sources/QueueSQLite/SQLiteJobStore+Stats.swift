import QueueCore
import GRDB

extension SQLiteJobStore {
    public func stats(now: Timestamp) throws -> QueueStats {
        try read { db in
            let hourAgo = now.milliseconds - 3_600_000
            var windows: [QueueStats.Window] = []
            for minutes in [1, 5, 60] {
                let since = now.milliseconds - Int64(minutes) * 60_000
                let row = try Row.fetchOne(db, sql: """
                    SELECT coalesce(sum(outcome = 'succeeded'), 0), coalesce(sum(outcome NOT IN ('succeeded', 'cancelled')), 0),
                           coalesce(sum(outcome = 'cancelled'), 0)
                    FROM runs WHERE finished_at >= ?
                    """, arguments: [since])
                var window = QueueStats.Window(minutes: minutes, succeeded: row?[0] ?? 0, failed: row?[1] ?? 0)
                window.cancelled = row?[2] ?? 0
                windows.append(window)
            }
            let hour = windows.last!
            let finished = hour.succeeded + hour.failed
            let successRate = finished > 0 ? Double(hour.succeeded) / Double(finished) : nil

            func percentiles(_ expression: String) throws -> QueueStats.Percentiles {
                let values = try Int64.fetchAll(db, sql: """
                    SELECT \(expression) AS v FROM runs WHERE finished_at >= ? ORDER BY v
                    """, arguments: [hourAgo])
                guard !values.isEmpty else { return .init(p50: nil, p95: nil, max: nil) }
                func at(_ q: Double) -> Double {
                    let index = min(values.count - 1, Int((q * Double(values.count - 1)).rounded()))
                    return Double(values[index]) / 1000
                }
                return .init(p50: at(0.5), p95: at(0.95), max: Double(values.last!) / 1000)
            }

            var perMinute = Array(repeating: (succeeded: 0, failed: 0), count: 30)
            let currentMinute = now.milliseconds / 60_000
            for row in try Row.fetchAll(db, sql: """
                SELECT finished_at / 60000 AS m, sum(outcome = 'succeeded'), sum(outcome <> 'succeeded')
                FROM runs WHERE finished_at >= ? GROUP BY m
                """, arguments: [(currentMinute - 29) * 60_000]) {
                let minute: Int64 = row[0]
                let index = Int(minute - (currentMinute - 29))
                if (0..<30).contains(index) { perMinute[index] = (row[1], row[2]) }
            }
            return QueueStats(
                windows: windows, successRate: successRate,
                runDuration: try percentiles("finished_at - started_at"),
                queueWait: try percentiles("max(0, started_at - queued_at)"),
                perMinute: perMinute)
        }
    }
}
