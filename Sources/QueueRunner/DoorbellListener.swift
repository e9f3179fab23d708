import CQueueSys
import Foundation
import QueueCore

/// Lets an idle worker sleep until work may be there: the store's work signal
/// (the doorbell's inotify on SQLite, LISTEN on PostgreSQL), a stop signal
/// (self-pipe), or a timer.
final class DoorbellListener {
    private let signal: ChangeSignal?
    private let signalReadFD: Int32

    /// Without a usable signal (a planted bell link, no LISTEN connection), the
    /// worker only polls.
    init(signal: ChangeSignal?, signalReadFD: Int32) {
        self.signal = signal
        self.signalReadFD = signalReadFD
    }

    /// Blocks up to `seconds`; returns early on a ring or a signal.
    func wait(seconds: Double) {
        var fds = [
            pollfd(fd: signal?.fd ?? -1, events: Int16(POLLIN), revents: 0),
            pollfd(fd: signalReadFD, events: Int16(POLLIN), revents: 0),
        ]
        let ms = Int32(max(0, min(60_000, (seconds * 1000).rounded(.up))))
        if poll(&fds, 2, ms) > 0, fds[0].revents != 0 { drain() }
    }

    /// Clears pending rings so the next wait blocks again.
    func drain() { signal?.drain() }
}
