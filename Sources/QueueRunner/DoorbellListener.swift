import CQueueSys
import Foundation
import QueueCore
import QueueSQLite

/// Lets an idle worker sleep until work may be there: a ring of the doorbell
/// (inotify on `<db>-bell`), a stop signal (self-pipe), or a timer.
final class DoorbellListener {
    private let inotifyFD: Int32
    private let signalReadFD: Int32

    init(location: DatabaseLocation, signalReadFD: Int32) {
        self.signalReadFD = signalReadFD
        // Without a usable bell (a planted link or file), the worker only polls.
        if let bell = try? Doorbell.open(location) { close(bell) }
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        if fd >= 0, inotify_add_watch(fd, location.bellPath, UInt32(IN_MODIFY | IN_ATTRIB | IN_DONT_FOLLOW)) < 0 {
            close(fd)
            inotifyFD = -1
        } else {
            inotifyFD = fd
        }
    }

    deinit { if inotifyFD >= 0 { close(inotifyFD) } }

    /// Blocks up to `seconds`; returns early on a ring or a signal.
    func wait(seconds: Double) {
        var fds = [
            pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: signalReadFD, events: Int16(POLLIN), revents: 0),
        ]
        let ms = Int32(max(0, min(60_000, (seconds * 1000).rounded(.up))))
        if poll(&fds, 2, ms) > 0, fds[0].revents != 0 { drain() }
    }

    /// Clears pending rings so the next wait blocks again.
    func drain() {
        guard inotifyFD >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while read(inotifyFD, &buffer, buffer.count) > 0 {}
    }
}
