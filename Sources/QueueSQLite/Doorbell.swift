import QueueCore
import Foundation

/// Wakes idle workers at once when work arrives: producers write one byte to the
/// `<db>-bell` file after committing, and idle workers wait on it with inotify.
/// Workers still poll slowly as a fallback, so a lost ring only costs latency.
///
/// The bell sits beside the database, maybe in a folder other users can write to:
/// it is written only if it is a regular file of this user (see OwnedFile), never
/// through a planted link. A bell that cannot be used costs latency only.
public enum Doorbell {
    public static func ring(_ location: DatabaseLocation) {
        guard let fd = try? open(location) else { return }
        var byte: UInt8 = 1
        _ = pwrite(fd, &byte, 1, 0)
        close(fd)
    }

    /// Opens (creating if missing) the bell for writing.
    public static func open(_ location: DatabaseLocation) throws -> Int32 {
        try OwnedFile.open(location.bellPath, .write)
    }
}
