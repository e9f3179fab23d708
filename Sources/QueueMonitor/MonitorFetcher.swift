import Foundation
import QueueCore
import QueueRunner

/// Runs the data source on a thread of its own, so a slow query (a filter over a
/// million jobs), a busy database or a worker being started never freezes the
/// screen or delays `q`. The screen's thread sends queries and effects and picks
/// up snapshots; no ncurses call is made here.
public final class MonitorFetcher: @unchecked Sendable {
    /// What the screen picks up: the newest snapshot and what actions reported.
    public struct Update: Sendable {
        public var snapshot: MonitorSnapshot
        public var flashes: [String]
    }

    private let source: MonitorDataSource
    private let refreshSeconds: Double
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var query: MonitorQuery
    private var queryChanged = true
    private var paused = false
    private var effects: [MonitorEffect] = []
    private var update: Update?
    private var stopped = false
    /// Carrying out effects (a read in progress is not waited for on stop).
    private var acting = false

    public init(source: MonitorDataSource, refreshSeconds: Double, query: MonitorQuery) {
        self.source = source
        self.refreshSeconds = refreshSeconds
        self.query = query
    }

    public func start() {
        Thread.detachNewThread { [self] in loop() }
    }

    /// Asks for `query` (fetched at once when it differs from the last one).
    public func request(_ query: MonitorQuery, paused: Bool) {
        condition.withLock {
            if query != self.query { queryChanged = true }
            self.query = query
            self.paused = paused
            condition.broadcast()
        }
    }

    public func perform(_ effects: [MonitorEffect]) {
        guard !effects.isEmpty else { return }
        condition.withLock {
            self.effects += effects
            condition.broadcast()
        }
    }

    /// Waits at most `seconds` for the first update (so the first frame has data
    /// unless the database is slow).
    public func waitForUpdate(seconds: Double) {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        while update == nil && !stopped && condition.wait(until: deadline) {}
        condition.unlock()
    }

    /// The newest update since the last call, if any.
    public func takeUpdate() -> Update? {
        condition.withLock {
            defer { update = nil }
            return update
        }
    }

    /// Stops the thread. An action in progress (a worker starting) is waited for,
    /// at most `seconds`; a read is not (its result is simply dropped).
    public func stop(waitingAtMost seconds: Double) {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        stopped = true
        condition.broadcast()
        while acting && condition.wait(until: deadline) {}
        condition.unlock()
    }

    private func loop() {
        var snapshot: MonitorSnapshot?
        var nextTick = Monotonic.now()
        while true {
            condition.lock()
            while !stopped && !queryChanged && effects.isEmpty && Monotonic.now() < nextTick {
                _ = condition.wait(until: Date(timeIntervalSinceNow: max(0.001, nextTick - Monotonic.now())))
            }
            if stopped {
                condition.unlock()
                return
            }
            let query = self.query
            let changed = queryChanged
            let todo = effects
            let paused = self.paused
            queryChanged = false
            effects = []
            acting = !todo.isEmpty
            condition.unlock()

            let flashes = todo.map { source.perform($0) }
            source.reapExitedChildren()
            if !todo.isEmpty {
                condition.withLock {
                    acting = false
                    condition.broadcast()
                }
            }
            var fetch = changed || !todo.isEmpty || snapshot == nil
            var confirmed = false
            let now = Monotonic.now()
            if now >= nextTick {
                nextTick = now + refreshSeconds
                if !paused {
                    // Sweep first: a released job is a change to show.
                    let swept = source.sweep()
                    if swept || snapshot.map(source.hasChanges(since:)) ?? true { fetch = true } else { confirmed = true }
                }
            }
            var result: MonitorSnapshot
            if fetch {
                result = source.fetch(query, previous: snapshot)
            } else if confirmed, var current = snapshot {
                current.fetchedAt = .now()   // nothing changed: the data is current as of now
                result = current
            } else {
                continue
            }
            snapshot = result
            condition.withLock {
                // Later refreshes start from the resolved cursors, unless the screen
                // has asked for something else meanwhile.
                if !queryChanged, let resolved = result.resolvedQuery { self.query = resolved }
                update = Update(snapshot: result, flashes: (update?.flashes ?? []) + flashes)
                condition.broadcast()
            }
        }
    }
}
