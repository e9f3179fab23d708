import Foundation

/// A file descriptor that becomes readable when a store may have changed, so
/// waiting code can `poll` it together with others (a stop signal's pipe). What
/// feeds it is the store's business: inotify on SQLite's files, a LISTEN
/// connection on PostgreSQL.
public final class ChangeSignal: @unchecked Sendable {
    public enum Kind: Sendable {
        /// Work may be claimable (enqueue, retry, resume, a finished job under a limit).
        case work
        /// Anything changed (a job, a run, a worker).
        case anyChange
        /// Anything changed, or a running job wrote output.
        case anyChangeOrOutput
    }

    /// Readable after a change; -1 when none could be made (waits only time out).
    public let fd: Int32
    private let drainBody: @Sendable () -> Void
    private let closeBody: @Sendable () -> Void

    public init(fd: Int32, drain: @escaping @Sendable () -> Void, close: @escaping @Sendable () -> Void) {
        self.fd = fd
        self.drainBody = drain
        self.closeBody = close
    }

    deinit { closeBody() }

    /// Clears what was signalled so the next wait blocks again.
    public func drain() { drainBody() }

    /// Blocks until a change or `seconds` passed; true when a change came.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        let ms = Int32(max(0, min(60_000, (seconds * 1000).rounded(.up))))
        guard fd >= 0 else {
            usleep(useconds_t(ms) * 1000)
            return false
        }
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        guard poll(&fds, 1, ms) > 0 else { return false }
        drain()
        return true
    }
}
