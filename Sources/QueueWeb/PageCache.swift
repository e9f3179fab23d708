import QueueCore

/// A page as served: its HTML, with `<main data-v="VERSION">`, where the version
/// is a hash of the rest of the page. A browser hands its page's version to
/// `/events`, and hears of a change only when a fresh render has another one.
struct RenderedPage: Sendable {
    let html: String
    let version: String

    init(_ html: String) {
        var hasher = Hasher()
        hasher.combine(html)
        version = String(UInt64(bitPattern: Int64(hasher.finalize())), radix: 36)
        if let main = html.range(of: "<main>") {
            self.html = html.replacingCharacters(in: main, with: "<main data-v=\"\(version)\">")
        } else {
            self.html = html
        }
    }

    /// The version of a page that could not be drawn (a job deleted meanwhile):
    /// a browser showing the page is told once, then not again.
    static func failedVersion(_ error: any Error) -> String { "!" + String(describing: error).prefix(80) }
}

/// Rendered pages by address (path and query), each valid for one epoch of the
/// change feed: the browsers of one page share one render per change. Renders of
/// the same page and epoch that overlap are one render (the first; the others
/// wait for it). An entry also expires after `maxAge`, because some of a page is
/// drawn from the clock (ages, durations of running jobs).
actor PageCache {
    private struct Entry {
        var epoch: Int
        var at: ContinuousClock.Instant
        var page: RenderedPage
    }

    private var entries: [String: Entry] = [:]
    private var inFlight: [String: (epoch: Int, task: Task<RenderedPage, any Error>)] = [:]
    private let maxAge: Duration
    private let capacity: Int
    /// Renders done (not answered from the cache), for tests and measurements.
    private(set) var renders = 0
    /// Where renders run: nil, Swift's shared pool (tests give a thread of their own).
    private let renderExecutor: (any TaskExecutor)?

    init(maxAge: Duration = .seconds(2), capacity: Int = 64, renderExecutor: (any TaskExecutor)? = nil) {
        self.maxAge = maxAge
        self.capacity = capacity
        self.renderExecutor = renderExecutor
    }

    /// The page at `key` for `epoch`: from the cache when rendered in this epoch
    /// less than `maxAge` ago, else rendered now. A nil epoch (nobody follows the
    /// feed, so nothing tells when the store changed) always renders, and keeps nothing.
    func page(_ key: String, epoch: Int?, render: @escaping @Sendable () throws -> RenderedPage) async throws -> RenderedPage {
        guard let epoch else {
            renders += 1
            return try render()
        }
        let now = ContinuousClock.now
        if let entry = entries[key], entry.epoch == epoch, now - entry.at < maxAge { return entry.page }
        if let running = inFlight[key], running.epoch == epoch { return try await running.task.value }
        renders += 1
        let task = Task(executorPreference: renderExecutor) { try render() }
        inFlight[key] = (epoch, task)
        defer { if inFlight[key]?.epoch == epoch { inFlight[key] = nil } }
        let page = try await task.value
        // A newer epoch's entry is not replaced by an older render that finished later.
        if (entries[key]?.epoch ?? Int.min) <= epoch {
            if entries[key] == nil, entries.count >= capacity { evict(now: now) }
            entries[key] = Entry(epoch: epoch, at: now, page: page)
        }
        return page
    }

    /// Drops expired entries, or the oldest one when none expired.
    private func evict(now: ContinuousClock.Instant) {
        let before = entries.count
        entries = entries.filter { now - $0.value.at < maxAge }
        if entries.count == before, let oldest = entries.min(by: { $0.value.at < $1.value.at })?.key {
            entries[oldest] = nil
        }
    }
}
