import Foundation
import Logging
import QueueCore

/// The worker's second thread: refreshes the worker's heartbeat, notices when the
/// worker has been released (then cancels the running job so a stale worker never
/// competes with the new lease holder), and sweeps for dead workers.
final class Heartbeat: @unchecked Sendable {
    private let store: SQLiteJobStore
    private let workerID: String
    private let cancelWriteFD: Int32
    private let logger: Logger
    private let lock = NSLock()
    private var stopped = false
    private var released = false
    private var thread: Thread?

    init(store: SQLiteJobStore, workerID: String, cancelWriteFD: Int32, logger: Logger) {
        self.store = store
        self.workerID = workerID
        self.cancelWriteFD = cancelWriteFD
        self.logger = logger
    }

    /// True once recovery released this worker (its row is gone).
    var wasReleased: Bool { lock.withLock { released } }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "queuectl-heartbeat"
        self.thread = thread
        thread.start()
    }

    func stop() { lock.withLock { stopped = true } }

    private func loop() {
        while !lock.withLock({ stopped }) {
            let lease = (try? store.config().leaseTimeoutSeconds) ?? 10
            do {
                let now = Timestamp.now()
                if try !store.heartbeat(workerID: workerID, now: now) {
                    if lock.withLock({ stopped }) { return }   // deregistered on purpose
                    logger.warning("worker released by recovery (no heartbeat recorded within lease); abandoning current run")
                    lock.withLock { released = true }
                    var byte: UInt8 = 1
                    _ = write(cancelWriteFD, &byte, 1)
                    return
                }
                try Recovery.sweep(store: store, now: now)
            } catch {
                logger.error("heartbeat: \(error)")
            }
            // Several beats per lease, so one slow beat does not cost the lease.
            let interval = min(2.0, max(0.2, lease / 5))
            Thread.sleep(forTimeInterval: interval)
        }
    }
}
