import Foundation
import QueueCore
import ServiceLifecycle
import Synchronization

/// One watcher for every open browser: it reads the store's change token
/// (`PRAGMA data_version`, one cheap pragma, as the console does) twice a second,
/// only while an `/events` stream is open, and counts an *epoch* each time the
/// token moved. Actions of this server call `announce()` themselves, since a
/// connection does not see its own commits in `data_version`.
///
/// A stream that names its page (`/events?page=/jobs%3Fstate%3Ddead&v=VERSION`)
/// hears of a change only when that page changed: after each epoch the feed
/// renders every page a browser follows once (shared through ``PageCache``, so
/// the browsers of one page cost one render, and their refetch is answered from
/// it) and tells each browser whose page has another version. A worker's
/// heartbeat moves the token, but leaves the pages as they were (a heartbeat's
/// age is drawn only once it is late), so it costs one render per page followed
/// and no browser refreshes. A stream without a page hears of every epoch.
///
/// A `Service`: on shutdown it ends every stream, so open browsers do not hold
/// the server's graceful stop.
final class ChangeFeed: Service, Sendable {
    /// The current version of the page at an address, drawn for an epoch.
    typealias PageVersion = @Sendable (_ page: String, _ epoch: Int) async -> String

    private struct Subscriber {
        let continuation: AsyncStream<String>.Continuation
        /// The page it shows (path and query), nil: it hears of every epoch.
        let page: String?
        /// The version of its page it has, or was last told of.
        var version: String?
        /// Whether its page was compared since it subscribed.
        var checked = false
    }

    private struct State {
        var epoch = 0
        /// True from the first check with a subscriber until the last one leaves:
        /// meanwhile `epoch` follows the store within one interval.
        var watching = false
        /// An action of this server changed the queue since the last check.
        var announced = false
        var nextID = 0
        var subscribers: [Int: Subscriber] = [:]
        var finished = false
        var wake: AsyncStream<Void>.Continuation?
    }

    private let store: any JobReader
    private let interval: Duration
    private let pageVersion: PageVersion?
    private let state = Mutex(State())

    init(store: any JobReader, interval: Duration = .milliseconds(500), pageVersion: PageVersion? = nil) {
        self.store = store
        self.interval = interval
        self.pageVersion = pageVersion
    }

    /// A stream of change events until the server stops: every epoch, or with a
    /// `page`, the new versions of that page (starting from `version`, the one the
    /// browser has).
    func subscribe(page: String? = nil, version: String? = nil) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
        let followed = pageVersion == nil ? nil : page
        let (id, wake): (Int?, AsyncStream<Void>.Continuation?) = state.withLock { s in
            guard !s.finished else { return (nil, nil) }
            s.nextID += 1
            s.subscribers[s.nextID] = Subscriber(continuation: continuation, page: followed, version: version)
            return (s.nextID, s.wake)
        }
        guard let id else { continuation.finish(); return stream }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { s in
                s.subscribers.removeValue(forKey: id)
                if s.subscribers.isEmpty { s.watching = false }
            }
        }
        // A page is compared at once: it may have changed before its browser subscribed.
        if followed != nil { wake?.yield() }
        return stream
    }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// The epoch a cached page may be kept for, nil while the feed is not
    /// following the store (no browser listens), when every request must render.
    var currentEpoch: Int? { state.withLock { $0.watching && !$0.finished ? $0.epoch : nil } }

    /// Tells every subscriber that the queue changed. The epoch moves at once, so a
    /// page requested right after the action is drawn afresh.
    func announce() {
        let wake = state.withLock { s in
            s.epoch += 1
            s.announced = true
            return s.wake
        }
        wake?.yield()
    }

    func run() async throws {
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        state.withLock { $0.wake = wake }
        let interval = self.interval
        // The ticker is a child task: it runs where the feed runs (on the executor
        // the caller prefers, if any) and ends with it.
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    wake.yield()
                }
            }
            await cancelWhenGracefulShutdown {
                var last = try? self.store.changeToken()
                for await _ in wakes {
                    if Task.isCancelled { break }
                    await self.check(&last)
                }
            }
            group.cancelAll()
        }
        wake.finish()
        let subscribers = state.withLock { s in
            s.finished = true
            s.wake = nil
            defer { s.subscribers = [:] }
            return s.subscribers.values.map(\.continuation)
        }
        for continuation in subscribers { continuation.finish() }
    }

    /// One look at the store: a new epoch when its token moved (or an action
    /// announced one), then the pages followed compared and their browsers told.
    private func check(_ last: inout Int64?) async {
        guard subscriberCount > 0 else { return }   // nobody listening: nothing to read
        let token = try? store.changeToken()
        let moved = token != last
        last = token
        // Outside the lock: a continuation may call back (onTermination) into it.
        let (epoch, changed, everyEpoch, pages) = state.withLock { s in
            // Unwatched meanwhile, the store may have changed unseen: a new epoch too.
            if moved || !s.watching { s.epoch += 1 }
            let changed = moved || s.announced || !s.watching
            s.announced = false
            s.watching = true
            let everyEpoch = changed ? s.subscribers.values.filter { $0.page == nil }.map(\.continuation) : []
            let pages = Set(s.subscribers.values.filter { $0.page != nil && (changed || !$0.checked) }.compactMap(\.page))
            return (s.epoch, changed, everyEpoch, pages)
        }
        if changed { for continuation in everyEpoch { continuation.yield(String(epoch)) } }
        guard let pageVersion else { return }
        for page in pages.sorted() {
            let version = await pageVersion(page, epoch)
            let told = state.withLock { s in
                var told: [AsyncStream<String>.Continuation] = []
                for (id, subscriber) in s.subscribers where subscriber.page == page {
                    s.subscribers[id]?.checked = true
                    if subscriber.version != version {
                        s.subscribers[id]?.version = version
                        told.append(subscriber.continuation)
                    }
                }
                return told
            }
            for continuation in told { continuation.yield(version) }
        }
    }
}
