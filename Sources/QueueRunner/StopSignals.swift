import CQueueSys
import QueueCore

/// SIGTERM, SIGINT and SIGHUP as requests to stop, for the processes that run for
/// a while (workers, their supervisor). They install the handler first thing, so
/// a stop that comes while they still wait for the database (another process holds
/// its write lock) ends them gracefully, with a log line, instead of killing them.
public enum StopSignals {
    /// Installs the handler; with `wakeFD` (a non-blocking pipe), each signal also
    /// writes a byte to it, so a loop blocked in `poll` wakes at once. Installing
    /// again (with the descriptor of the loop that waits) keeps the count.
    public static func install(wakeFD: Int32 = -1) {
        _ = qc_install_stop_handler(wakeFD)
    }

    /// Stop signals received since the handler was installed.
    public static var count: Int { Int(qc_stop_signal_count()) }

    public static var received: Bool { count > 0 }

    /// While on, this process's waits for the database's write lock give up as soon
    /// as a stop signal has come. For start-up only: a stopping worker must still
    /// wait to record its last result.
    public static func interruptDatabaseWaits(_ on: Bool) {
        if on {
            StoreWaits.giveUp(when: { @Sendable in qc_stop_signal_count() > 0 })
        } else {
            StoreWaits.giveUp(when: nil)
        }
    }
}
