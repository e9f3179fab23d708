import Foundation
import QueueCore
import ServiceLifecycle
import Synchronization

/// One watcher for every open browser: it reads the store's change counter
/// (`PRAGMA data_version`, one cheap pragma, as the console does) twice a second
/// and tells each subscriber (an open `/events` stream) when another process
/// committed. Actions of this server call `announce()` themselves, since a
/// connection does not see its own commits in `data_version`.
///
/// A `Service`: on shutdown it ends every stream, so open browsers do not hold
/// the server's graceful stop.
final class ChangeFeed: Service, Sendable {
    private struct State {
        var generation = 0
        var nextID = 0
        var subscribers: [Int: AsyncStream<Int>.Continuation] = [:]
        var finished = false
    }

    private let store: any JobStore
    private let interval: Duration
    private let state = Mutex(State())

    init(store: any JobStore, interval: Duration = .milliseconds(500)) {
        self.store = store
        self.interval = interval
    }

    /// A stream of change generations, until the server stops.
    func subscribe() -> AsyncStream<Int> {
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
        let id: Int? = state.withLock { s in
            guard !s.finished else { return nil }
            s.nextID += 1
            s.subscribers[s.nextID] = continuation
            return s.nextID
        }
        guard let id else { continuation.finish(); return stream }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Tells every subscriber that the queue changed.
    func announce() {
        // Outside the lock: a continuation may call back (onTermination) into it.
        let (generation, subscribers) = state.withLock { s in
            s.generation += 1
            return (s.generation, Array(s.subscribers.values))
        }
        for continuation in subscribers { continuation.yield(generation) }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var last = try? self.store.changeToken()
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                // Nobody listening: nothing to read.
                guard self.subscriberCount > 0 else { continue }
                let version = try? self.store.changeToken()
                if version != last {
                    last = version
                    self.announce()
                }
            }
        }
        let subscribers = state.withLock { s in
            s.finished = true
            defer { s.subscribers = [:] }
            return Array(s.subscribers.values)
        }
        for continuation in subscribers { continuation.finish() }
    }
}
