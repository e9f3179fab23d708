import QueueCore
import Foundation

/// The file a store opened (device and inode), to notice when its path no longer
/// leads to it: the database was deleted (`rm q.db*`) or replaced (a restore moved
/// another file there). SQLite keeps working on the open file either way, so a
/// worker would go on alone on a file nobody else can reach: invisible to `worker
/// list`, deaf to `worker stop`, its results lost. Workers compare at each heartbeat
/// and stop.
public struct DatabaseFileIdentity: Sendable, Equatable {
    public var device: UInt64
    public var inode: UInt64

    /// The identity of the file at `path` now (following a link, as SQLite does).
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    /// Why `path` no longer leads to this file, or nil while it does (or cannot be
    /// told: a path that cannot be looked at for another reason proves nothing).
    public func change(at path: String) -> String? {
        guard let now = DatabaseFileIdentity(path: path) else {
            return errno == ENOENT || errno == ENOTDIR ? "was deleted" : nil
        }
        return now == self ? nil : "was replaced by another file"
    }
}
