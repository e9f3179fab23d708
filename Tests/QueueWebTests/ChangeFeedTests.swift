import Foundation
import Hummingbird
import HummingbirdCore
import Synchronization
import Testing
@testable import QueueCore
@testable import QueueSQLite
@testable import QueueWeb

/// A queue in a scratch folder, read by the dashboard's store (`reader`) and changed
/// through a second connection (`writer`), the way workers and the CLI change it
/// from their own processes: SQLite's change counter moves only for the commits of
/// other connections.
final class WebFixture: @unchecked Sendable {
    let directory: String
    let reader: SQLiteJobStore
    let writer: SQLiteJobStore
    let cache = PageCache(renderExecutor: TestExecutor.shared)
    let renderer: PageRenderer
    let feed: ChangeFeed
    private var running: Task<Void, any Error>?

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("web-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let location = DatabaseLocation(path: directory + "/queue.db")
        writer = try SQLiteJobStore(location: location)
        reader = try SQLiteJobStore(location: location)
        renderer = PageRenderer(store: reader, pages: WebPages(csrf: nil))
        feed = ChangeFeed(store: reader, interval: .milliseconds(50), pageVersion: WebServer.pageVersion(cache: cache, renderer: renderer))
    }

    deinit {
        running?.cancel()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func start() { running = Task(executorPreference: TestExecutor.shared) { [feed] in try await feed.run() } }

    /// A worker row, as a worker process registers it.
    func worker(_ id: String) throws {
        let now = Timestamp.now()
        try writer.registerWorker(WorkerRecord(id: id, pid: Int(getpid()), pidStartTicks: 1, hostname: "web-tests.invalid",
                                               startedAt: now, heartbeatAt: now))
    }

    func enqueue(_ id: String, delay: Double? = nil) throws {
        _ = try writer.enqueue([JobSpec(id: id, command: "true", delaySeconds: delay)], now: .now())
    }

    /// The page as a browser's request gets it now.
    func get(_ page: String) async throws -> RenderedPage {
        try await cache.page(page, epoch: feed.currentEpoch) { [renderer] in try renderer.page(URI(page)) }
    }
}

/// The events a stream delivered, collected as they come.
final class Heard: Sendable {
    private final class Log: Sendable { let events = Mutex<[String]>([]) }
    private let log = Log()
    private let task: Task<Void, Never>

    init(_ stream: AsyncStream<String>) {
        let log = self.log
        task = Task(executorPreference: TestExecutor.shared) { for await event in stream { log.events.withLock { $0.append(event) } } }
    }

    deinit { task.cancel() }

    var all: [String] { log.events.withLock { $0 } }
    var count: Int { all.count }
}

/// Runs the feed and the streams' readers on a thread of their own. In the whole
/// suite on 2 cores, tests that block their thread (the CLI's, waiting for
/// processes) can hold every thread of Swift's shared pool for minutes, and a task
/// queued there behind them would not run in time.
final class TestExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = TestExecutor()
    private let queue = DispatchQueue(label: "queuectl.web-tests")
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// Runs a test's body on ``TestExecutor`` too, so that its steps (and its checks
/// of how soon something happened) are not queued behind the blocking tests.
func onTestThread(_ body: () async throws -> Void) async rethrows {
    try await withTaskExecutorPreference(TestExecutor.shared, operation: body)
}

/// Waits for `condition`. Long by default: in the whole suite on 2 cores, tests
/// that block their thread (the CLI's, waiting for processes) can hold every thread
/// of the shared pool for seconds, and the feed's task waits its turn meanwhile.
func eventually(timeout: Double = 60, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// The dashboard's live pages: a browser hears of its page only when the page
/// changed, heartbeats alone change none, and the browsers of one page share one
/// render per change.
@Suite struct ChangeFeedTests {
    let f: WebFixture
    init() throws { f = try WebFixture() }

    @Test func aHeartbeatAloneSendsNoRefreshButAJobChangeDoes() async throws {
        try await onTestThread {
            try f.worker("w1")
            _ = try f.writer.heartbeat(workerID: "w1", now: .now().adding(seconds: 60))   // see below
            // Scheduled for later: a due job's wait ("latency 0.3s") would change the page by itself.
            try f.enqueue("a", delay: 3600)
            f.start()
            let shown = try await f.get("/")
            #expect(shown.html.contains("<main data-v=\"\(shown.version)\">"))
            let page = Heard(f.feed.subscribe(page: "/", version: shown.version))
            let everyChange = Heard(f.feed.subscribe())
            #expect(await eventually { f.feed.currentEpoch != nil })

            // Heartbeats every 0.1 s until the feed has seen at least three of them (a
            // stream without a page hears every change): the store changed, but the
            // overview stays as it was.
            // Each heartbeat is dated a minute ahead, so the page shows it as "just now"
            // even when the busy suite delays a render by seconds: this test is about
            // whether a heartbeat changes the page, not about how its age is shown.
            let beating = Date()
            while everyChange.count < 3, Date().timeIntervalSince(beating) < 60 {
                #expect(try f.writer.heartbeat(workerID: "w1", now: .now().adding(seconds: 60)))
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(everyChange.count >= 3, "a stream without a page hears every change (\(everyChange.count))")
            #expect(page.count == 0, "heartbeats alone do not refresh the overview: \(page.all)")
            #expect(await f.cache.renders >= 2, "the feed drew the page to compare it")

            // A new job changes the counts: the browser hears of it once.
            try f.enqueue("b")
            #expect(await eventually { page.count == 1 })
            try await Task.sleep(for: .milliseconds(300))
            #expect(page.count == 1)
            // Its refetch is the render the feed compared, from the cache.
            let renders = await f.cache.renders
            let fetched = try await f.get("/")
            #expect(fetched.version == page.all.last)
            #expect(fetched.html.contains("data-state=\"pending\"><b>1</b>"))
            #expect(await f.cache.renders == renders)
        }
    }

    @Test func browsersOfOnePageShareOneRenderPerChange() async throws {
        try await onTestThread {
            try f.enqueue("a")
            f.start()
            let shown = try await f.get("/jobs?state=pending")
            let browsers = (0..<5).map { _ in Heard(f.feed.subscribe(page: "/jobs?state=pending", version: shown.version)) }
            #expect(await eventually { f.feed.currentEpoch != nil })
            try await Task.sleep(for: .milliseconds(200))
            let before = await f.cache.renders

            try f.enqueue("b")
            #expect(await eventually { browsers.allSatisfy { $0.count == 1 } })
            // Each browser refetches at once, as the page script does.
            let fetched = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in browsers { group.addTask { try await f.get("/jobs?state=pending").html } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(fetched.allSatisfy { $0.contains(">b</a>") && $0 == fetched[0] })
            #expect(await f.cache.renders == before + 1, "one render for five browsers")
        }
    }

    @Test func aPageThatChangedBeforeItsBrowserSubscribedIsToldAtOnce() async throws {
        try await onTestThread {
            f.start()
            let shown = try await f.get("/jobs")
            try f.enqueue("x", delay: 3600)
            let page = Heard(f.feed.subscribe(page: "/jobs", version: shown.version))
            #expect(await eventually { page.count == 1 })
            // A browser with the current version is not told.
            let current = try await f.get("/jobs")
            #expect(current.html.contains(">x</a>"))
            let uptodate = Heard(f.feed.subscribe(page: "/jobs", version: current.version))
            try await Task.sleep(for: .milliseconds(300))
            #expect(uptodate.count == 0)
        }
    }

    @Test func anActionOfTheServerIsSeenByTheNextRequest() async throws {
        try await onTestThread {
            try f.enqueue("a")
            f.start()
            let browser = Heard(f.feed.subscribe(page: "/", version: nil))
            #expect(await eventually { f.feed.currentEpoch != nil })
            let before = try await f.get("/")
            // The server's own connection commits: data_version does not move for it.
            _ = try f.reader.cancel(ids: ["a"], now: .now())
            f.feed.announce()
            let after = try await f.get("/")
            #expect(after.version != before.version)
            #expect(after.html.contains("data-state=\"cancelled\"><b>1</b>"))
            #expect(await eventually { browser.all.last == after.version })
        }
    }

    @Test func aLateHeartbeatIsShownWithItsAge() throws {
        let pages = WebPages(csrf: nil)
        let now = Timestamp.now()
        let fresh = WorkerRecord(id: "w", pid: 1, pidStartTicks: 1, hostname: "h", startedAt: now, heartbeatAt: now.adding(seconds: -0.4))
        let late = WorkerRecord(id: "w", pid: 1, pidStartTicks: 1, hostname: "h", startedAt: now, heartbeatAt: now.adding(seconds: -30))
        #expect(pages.workerTable([fresh], now: now).contains("<td>just now</td>"))
        #expect(pages.workerTable([late], now: now).contains("<td>30s ago</td>"))
    }
}

/// The overview's chart reads 30 minutes of runs once a minute, and the current
/// minute at every render.
@Suite struct ThroughputCacheTests {
    let f: WebFixture
    init() throws { f = try WebFixture() }

    func run(_ id: String, finishedAt: Timestamp, outcome: RunOutcome = .succeeded) throws {
        try f.writer.write { db in
            try db.execute(sql: """
                INSERT INTO runs (job_id, attempt, worker_id, queued_at, started_at, finished_at, outcome)
                VALUES (?, 1, 'w', 0, ?, ?, ?)
                """, arguments: [id, finishedAt.milliseconds - 10, finishedAt.milliseconds, outcome.rawValue])
        }
    }

    @Test func closedMinutesAreReadOnceAMinuteTheCurrentOneEachTime() throws {
        let cache = ThroughputCache(minutes: 30)
        let minute: Int64 = 60_000
        let start = Timestamp(milliseconds: (Timestamp.now().milliseconds / minute) * minute + 30_000)
        try run("old", finishedAt: start.adding(seconds: -120))
        try run("bad", finishedAt: start.adding(seconds: -40), outcome: .failed)
        var t = try cache.throughput(f.reader, now: start)
        #expect(t.succeededPerMinute.suffix(3) == [1, 0, 0] && t.failedPerMinute.suffix(3) == [0, 1, 0])

        // Within the minute: a new run shows in the current bar and the last-minute counts...
        try run("new", finishedAt: start.adding(seconds: 5))
        // ... while a run recorded late into a closed minute waits for the next minute.
        try run("late", finishedAt: start.adding(seconds: -119))
        t = try cache.throughput(f.reader, now: start.adding(seconds: 10))
        #expect(t.succeededPerMinute.suffix(3) == [1, 0, 1])
        #expect(t.succeededLastMinute == 1 && t.failedLastMinute == 1)
        #expect(t == (try f.reader.throughput(now: start.adding(seconds: 10), minutes: 30)).with(succeededAt: 27, 1))

        // The next minute reads everything again.
        t = try cache.throughput(f.reader, now: start.adding(seconds: 40))
        #expect(t == (try f.reader.throughput(now: start.adding(seconds: 40), minutes: 30)))
        #expect(t.succeededPerMinute.suffix(4) == [2, 0, 1, 0])
    }
}

extension Throughput {
    /// The same figures with one minute's succeeded count replaced.
    func with(succeededAt index: Int, _ count: Int) -> Throughput {
        var copy = self
        copy.succeededPerMinute[index] = count
        return copy
    }
}
