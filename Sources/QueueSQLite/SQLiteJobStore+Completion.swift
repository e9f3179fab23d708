import QueueCore
import Foundation
import GRDB

extension SQLiteJobStore {
    /// Job ids starting with `prefix`, for shell completion: at most `limit`, in id
    /// order (or, for one state, in the order the jobs were enqueued).
    ///
    /// Completion runs on every Tab press, so this never writes, never creates the
    /// database or its folders, and never waits: it opens a read-only connection
    /// to an existing file (no migration, no recovery sweep) with a short busy
    /// timeout, and throws on anything unexpected for the caller to swallow.
    /// (Like any reader, it may leave empty `-wal`/`-shm` files beside a database
    /// nobody else has open; the next writer uses them.)
    /// The prefix is matched as a range on the `id` index (`prefix ≤ id <
    /// prefix + U+10FFFF`), so the cost does not grow with the table.
    public static func jobIDs(at location: DatabaseLocation, startingWith prefix: String,
                              state: JobState? = nil, limit: Int = 100) throws -> [String] {
        var info = stat()
        guard stat(location.databasePath, &info) == 0, info.st_size > 0 else { return [] }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(0.2)
        let queue = try DatabaseQueue(path: location.databasePath, configuration: config)
        return try queue.read { db in
            let upper = prefix + "\u{10FFFF}"
            if let state {
                return try String.fetchAll(db, sql: """
                    SELECT id FROM jobs WHERE \(state.selectionCondition()) AND id >= ? AND id < ?
                    ORDER BY seq LIMIT ?
                    """, arguments: [prefix, upper, limit])
            }
            return try String.fetchAll(db, sql: "SELECT id FROM jobs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                                       arguments: [prefix, upper, limit])
        }
    }
}
