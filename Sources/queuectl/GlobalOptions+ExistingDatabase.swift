import Foundation
import QueueCore

extension GlobalOptions {
    /// For commands that only report (`metrics`): a database that does not exist
    /// is an error, never created, so a typo in `--db` or a cron job started
    /// before the queue shows up instead of reporting an empty queue forever.
    func requireExistingDatabase() throws {
        let path = location.databasePath
        guard access(path, F_OK) == 0 else {
            throw QueueError.runtime("no queue database at \(path) (it is created by the first command that writes, such as enqueue)")
        }
    }
}
