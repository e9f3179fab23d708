import Foundation

/// Wakes idle workers at once when work arrives: producers write one byte to the
/// `<db>-bell` file after committing, and idle workers wait on it with inotify.
/// Workers still poll slowly as a fallback, so a lost ring only costs latency.
public enum Doorbell {
    public static func ring(_ location: DatabaseLocation) {
        let fd = open(location.bellPath, O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0o600)
        guard fd >= 0 else { return }
        var byte: UInt8 = 1
        _ = pwrite(fd, &byte, 1, 0)
        close(fd)
    }
}
