import Foundation
import Glibc
import PostgresNIO
import QueueCore

/// Waking workers, telling watchers about changes, and the write probe: what the
/// SQLite store does with the doorbell file, inotify and a locking transaction.
extension PostgresJobStore {
    /// Throws one line when this process cannot write to the queue: a server in
    /// recovery (a read-only standby), a read-only default for this role or
    /// database, or a role without the right to change the jobs table. A query,
    /// not a write: it takes no lock and leaves nothing behind.
    public func checkWritable() throws {
        guard let row = try session.query("""
            SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on',
                   has_table_privilege('jobs', 'INSERT') AND has_table_privilege('jobs', 'UPDATE')
                       AND has_table_privilege('jobs', 'DELETE')
            """).first else { return }
        let (standby, readOnly, allowed) = try row.decode((Bool, Bool, Bool).self)
        let place = "the queue at \(address.location) (schema \(address.schema))"
        if standby { throw QueueError.runtime("cannot write to \(place): the server is a read-only standby") }
        if readOnly { throw QueueError.runtime("cannot write to \(place): transactions are read-only for this role or database (default_transaction_read_only)") }
        if !allowed { throw QueueError.runtime("cannot write to \(place): role \(address.user) may not change its jobs table") }
    }

    /// Wakes idle workers (NOTIFY on the wake channel). A failure is not reported:
    /// workers look again within their poll interval anyway.
    public func ringWorkers() {
        _ = try? wake()
    }

    /// A value that changes whenever anything in the queue changed since it was
    /// last read: the change sequence (see `PostgresSchema.version2`) together
    /// with the server's transaction snapshot. The sequence counts up when a
    /// statement changes rows, before its transaction commits; the snapshot
    /// changes when that transaction commits, so a reader that took the token
    /// while the change was not yet visible sees a different one after. Activity
    /// elsewhere on the server changes the snapshot too: a poller then reads once
    /// more for nothing, never misses a change.
    public func changeToken() throws -> Int64 {
        guard let row = try session.query("""
            SELECT \(unescaped: PostgresSchema.countSQL(PostgresSchema.changeSequence)), hashtext(pg_current_snapshot()::text)
            """).first else { return 0 }
        let (count, snapshot) = try row.decode((Int64, Int32).self)
        return count &* 4_294_967_296 &+ Int64(UInt32(bitPattern: snapshot))
    }

    /// A descriptor that becomes readable when work may be claimable (`.work`: a
    /// LISTEN on the wake channel, on this store's connection) or anything changed (`.anyChange`:
    /// a thread reading the change sequence every ``changePollSeconds``; with
    /// output, the output sequence too). See ``ChangeFeed``.
    public func changeSignal(_ kind: ChangeSignal.Kind) throws -> ChangeSignal {
        let feed: ChangeFeed
        switch kind {
        case .work:
            // On this store's own connection: a worker asks its heartbeat's store,
            // whose session runs a statement every beat.
            let listener = try PostgresListener(session: session, channel: PostgresSchema.wakeChannel(schema: address.schema))
            feed = try ChangeFeed(name: "queuectl wake listener", stop: { listener.close() }) { feed in
                while !feed.isStopped {
                    if listener.wait(timeout: 1), !feed.isStopped { feed.signal() }
                }
            }
        case .anyChange, .anyChangeOrOutput:
            let watcher = PostgresSession(address: address)
            try watcher.connect()
            var sequences = [PostgresSchema.changeSequence]
            if kind == .anyChangeOrOutput { sequences.append(PostgresSchema.outputSequence) }
            let read: PostgresQuery = "SELECT \(unescaped: sequences.map(PostgresSchema.countSQL).joined(separator: " + "))"
            feed = try ChangeFeed(name: "queuectl change watcher", stop: {}) { feed in
                var last = try? watcher.query(read).first?.decode(Int64.self)
                while !feed.isStopped {
                    feed.sleep(seconds: Self.changePollSeconds)
                    let now = try? watcher.query(read).first?.decode(Int64.self)
                    // A lost connection reads nil: the reading after it is news.
                    if now != last, !feed.isStopped { feed.signal() }
                    last = now
                }
                watcher.close()
            }
        }
        return ChangeSignal(fd: feed.fd, drain: { feed.drain() }, close: { feed.stop() })
    }

    /// How often a change signal reads the change count: the longest a watcher
    /// (the console, the dashboard, `logs --follow`) waits to learn of a change.
    static let changePollSeconds = 0.1

    /// Runs `body` giving up on a row or table lock after `seconds`
    /// (`lock_timeout`), for work that is only worth doing if the queue is free
    /// (see ``PostgresSession/withWaitLimit(milliseconds:_:)``).
    public func withWaitLimit<T>(seconds: Double, _ body: () throws -> T) rethrows -> T {
        try session.withWaitLimit(milliseconds: max(1, Int((seconds * 1000).rounded())), body)
    }
}

/// The descriptor behind a PostgreSQL `ChangeSignal`: a pipe that a thread of
/// its own makes readable. The thread and the signal share this object, and the
/// pipe is closed only when both let go, so a thread finishing its last wait never
/// writes to a descriptor number that was closed and reused.
final class ChangeFeed: @unchecked Sendable {
    /// The pipe's read end (what callers poll).
    let fd: Int32
    private let writeEnd: Int32
    private let condition = NSCondition()
    private var stopped = false
    private let stopBody: @Sendable () -> Void

    init(name: String, stop: @escaping @Sendable () -> Void, loop: @escaping @Sendable (ChangeFeed) -> Void) throws {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            throw QueueError.runtime("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        fd = ends[0]
        writeEnd = ends[1]
        stopBody = stop
        let thread = Thread { [self] in loop(self) }
        thread.name = name
        thread.start()
    }

    deinit {
        close(fd)
        close(writeEnd)
    }

    var isStopped: Bool { condition.withLock { stopped } }

    /// Makes the read end readable (a full pipe is readable already).
    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Makes it unreadable again.
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(fd, &buffer, buffer.count) > 0 {}
    }

    /// Sleeps `seconds`, or less when stopped meanwhile.
    func sleep(seconds: Double) {
        condition.withLock {
            if !stopped { _ = condition.wait(until: Date(timeIntervalSinceNow: seconds)) }
        }
    }

    /// Ends the thread (it lets go of this object after its current wait).
    func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
        stopBody()
    }
}
