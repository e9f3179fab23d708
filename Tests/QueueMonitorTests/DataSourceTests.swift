import Foundation
import Testing
@testable import QueueCore
@testable import QueueMonitor
import QueueStores
import TestSupport

/// What the console fetches, against a real scratch queue in the store the suite
/// runs against (see `TestDatabase`): pages, totals, cursors kept on their job,
/// filters, log tails, actions.
@Suite struct DataSourceTests {
    /// A scratch queue (with a temporary folder), removed at the end. `fileStore`:
    /// a SQLite file whatever the suite runs against.
    final class Scratch {
        let folder: URL
        let address: StoreAddress
        let store: any JobStore
        let source: MonitorDataSource
        var clock = Timestamp(milliseconds: 1_800_000_000_000)

        init(readonly: Bool = false, fileStore: Bool = false) throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("queuectl-monitor-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let file = folder.appendingPathComponent("queue.db").path
            address = try StoreAddress.resolve(explicit: fileStore ? file : TestDatabase.newQueueAddress(folder: folder.path))
            store = try StoreOpener.open(address, .command(creating: true))
            source = readonly ? MonitorDataSource(reader: store, supervisor: .init(address: address))
                              : MonitorDataSource(store: store, supervisor: .init(address: address))
            try store.registerWorker(WorkerRecord(id: "w-test", pid: Int(getpid()), pidStartTicks: 0, hostname: "test",
                                                  startedAt: clock, heartbeatAt: clock))
        }

        deinit {
            TestDatabase.removeQueue(address.argument)
            try? FileManager.default.removeItem(at: folder)
        }

        func enqueue(_ ids: [String], priority: Int = 0, maxRetries: Int = 2, command: String = "echo hi") throws {
            clock = clock.adding(seconds: 1)
            _ = try store.enqueue(ids.map { try JobSpec(id: $0, command: command, maxRetries: maxRetries, priority: priority) }, now: clock)
        }

        /// Enqueues jobs that fail once with `error` and so go straight to the DLQ.
        func enqueueDead(_ ids: [String], error: String = "exit code 1: boom") throws {
            try enqueue(ids, priority: 1000, maxRetries: 0)
            for _ in ids {
                guard case let .claimed(claimed) = try store.claim(workerID: "w-test", now: clock) else {
                    Issue.record("nothing to claim")
                    return
                }
                _ = try store.finish(claimed, workerID: "w-test", result: RunResult(outcome: .failed, exitCode: 1, error: error), now: clock)
            }
        }

        func query(_ state: MonitorState) -> MonitorQuery { state.query }

        /// Fetches for `state` and lets it adopt the result, as the console does.
        func refresh(_ state: inout MonitorState, previous: MonitorSnapshot? = nil) -> MonitorSnapshot {
            let snapshot = source.fetch(state.query, previous: previous, now: clock)
            state.adopt(snapshot)
            return snapshot
        }
    }

    @Test func pagesCountEveryJobButFetchOnlyTheVisibleRows() throws {
        let s = try Scratch()
        try s.enqueue((1...250).map { "job-\($0)" })
        var state = MonitorState(width: 120, height: 40)
        let snapshot = s.refresh(&state)
        #expect(snapshot.jobsTotal == 250)
        #expect(snapshot.jobs.count == state.rows(for: .jobs))
        #expect(snapshot.jobs.first?.id == "job-250", "newest first")
        #expect(MonitorViewModel(snapshot: snapshot, state: state, now: s.clock).render().contains("1–\(snapshot.jobs.count) of 250"))
    }

    @Test func aPageFromTheFarEndIsTheSameAsWalkingFromTheStart() throws {
        let s = try Scratch()
        try s.enqueue((1...101).map { "job-\($0)" })
        for query in [JobListQuery(state: nil), JobListQuery(state: .pending, order: .claim)] {
            for offset in [0, 7, 50, 51, 90, 95, 101, 150] {
                let page = try s.store.jobPage(query, limit: 10, offset: offset)
                let all = try s.store.jobPage(query, limit: 1000, offset: 0).jobs
                #expect(page.jobs.map(\.id) == Array(all.dropFirst(offset).prefix(10)).map(\.id), "\(query.order) offset \(offset)")
                #expect(page.total == 101)
            }
        }
    }

    @Test func pendingTabIsInClaimOrder() throws {
        let s = try Scratch()
        try s.enqueue(["low-1", "low-2"])
        try s.enqueue(["urgent"], priority: 9)
        let page = try s.store.jobPage(JobListQuery(state: .pending, order: .claim), limit: 10, offset: 0)
        #expect(page.jobs.map(\.id) == ["urgent", "low-1", "low-2"])
        #expect(try s.store.jobPosition(id: "low-2", in: JobListQuery(state: .pending, order: .claim)) == 2)
        #expect(try s.store.jobPosition(id: "low-2", in: JobListQuery(state: .dead)) == nil)
    }

    @Test func theCursorStaysOnItsJobWhenManyNewJobsArriveAbove() throws {
        let s = try Scratch()
        try s.enqueue((1...30).map { "old-\($0)" })
        var state = MonitorState(width: 120, height: 40)
        var snapshot = s.refresh(&state)
        for _ in 0..<3 { _ = state.handle(.down, snapshot: snapshot) }
        #expect(state.cursor(.jobs).selectedID == "old-27")
        snapshot = s.refresh(&state, previous: snapshot)
        // More new jobs than a page arrive on top (newest first).
        try s.enqueue((1...100).map { "new-\($0)" })
        snapshot = s.refresh(&state, previous: snapshot)
        #expect(state.cursor(.jobs).index == 103)
        #expect(state.selectedJobID(snapshot: snapshot) == "old-27")
        let screen = MonitorViewModel(snapshot: snapshot, state: state, now: s.clock).render()
        let selected = screen.lines.first { $0.spans.contains { $0.style.reverse && $0.text.contains("old-27") } }
        #expect(selected != nil, "the selected row is on screen and highlighted:\n\(screen.text)")
    }

    @Test func whenTheSelectedJobLeavesTheListTheNextOneIsSelected() throws {
        let s = try Scratch()
        try s.enqueueDead(["d1", "d2", "d3"])
        var state = MonitorState(width: 120, height: 40)
        _ = state.handle(.char("3"), snapshot: MonitorSnapshot(databasePath: ""))
        var snapshot = s.refresh(&state)
        #expect(snapshot.dead.map(\.id) == ["d3", "d2", "d1"])
        _ = state.handle(.down, snapshot: snapshot)
        #expect(state.handle(.char("r"), snapshot: snapshot) == [.retry(["d2"])])
        #expect(s.source.perform(.retry(["d2"])) == "1 job → pending")
        snapshot = s.refresh(&state, previous: snapshot)
        #expect(snapshot.deadTotal == 2)
        #expect(state.selectedJobID(snapshot: snapshot) == "d1")
        // The last one goes: the cursor stays in range.
        _ = s.source.perform(.retry(["d1"]))
        snapshot = s.refresh(&state, previous: snapshot)
        #expect(state.cursor(.dlq).index == 0)
        #expect(state.selectedJobID(snapshot: snapshot) == "d3")
    }

    @Test func aSnapshotForAnOlderQueryDoesNotUndoKeys() throws {
        let s = try Scratch()
        try s.enqueue((1...10).map { "j\($0)" })
        var state = MonitorState(width: 120, height: 40)
        let snapshot = s.refresh(&state)
        let inFlight = s.source.fetch(state.query, previous: snapshot, now: s.clock)
        _ = state.handle(.down, snapshot: snapshot)   // pressed while the fetch was running
        state.adopt(inFlight)
        #expect(state.cursor(.jobs).index == 1)
    }

    @Test func theDLQFilterMatchesTheErrorToo() throws {
        let s = try Scratch()
        try s.enqueueDead(["a"], error: "exit code 2: upstream returned 503")
        try s.enqueueDead(["b"], error: "exit code 1: disk full")
        var state = MonitorState(width: 120, height: 40)
        state.focus = .dlq
        state.filters[.dlq] = "503"
        let snapshot = s.refresh(&state)
        #expect(snapshot.dead.map(\.id) == ["a"])
        #expect(snapshot.deadTotal == 1)
    }

    @Test func retryingMarkedJobsSkipsThoseNoLongerDead() throws {
        let s = try Scratch()
        try s.enqueueDead(["a", "b"])
        _ = try s.store.retryDead(ids: ["a"], now: s.clock)
        #expect(s.source.perform(.retry(["a", "b"])) == "1 job → pending (1 no longer dead)")
        #expect(try s.store.job(id: "b").state == .pending)
    }

    @Test func retryAllRetriesOnlyAsManyAsConfirmed() throws {
        let s = try Scratch()
        try s.enqueueDead(["a", "b", "c"])
        #expect(s.source.perform(.retryAllDead(2)) == "2 jobs → pending")
        #expect(try s.store.counts()[.dead] == 1)
    }

    @Test func readonlyChangesNothing() throws {
        let s = try Scratch(readonly: true)
        try s.enqueueDead(["a"])
        #expect(s.source.perform(.retry(["a"])).hasPrefix("read-only"))
        #expect(!s.source.sweep())
        #expect(try s.store.job(id: "a").state == .dead)
    }

    @Test func theLogTailShowsTheLatestRunCleaned() throws {
        // A file store always: it writes the run's output file beside the database
        // (a server store keeps output in the database, written by the worker).
        let s = try Scratch(fileStore: true)
        try s.enqueueDead(["noisy"])
        let runID = try #require(try s.store.runID(jobID: "noisy", number: nil))
        let path = s.store.location.runLogPath(jobID: "noisy", runID: runID)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data("\u{1B}[31mred\u{1B}[0m text\nprogress 10%\rprogress 100%\n".utf8).write(to: URL(fileURLWithPath: path))
        var state = MonitorState(width: 120, height: 40)
        state.focus = .dlq
        var snapshot = s.refresh(&state)
        #expect(snapshot.log?.lines == ["red text", "progress 100%"])
        #expect(snapshot.log?.running == false)
        // Scrolled back, the lines stay still while the file grows.
        _ = s.source.hasChanges(since: snapshot)
        try Data("\u{1B}[31mred\u{1B}[0m text\nprogress 10%\rprogress 100%\nmore\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(s.source.hasChanges(since: snapshot))
        state.logScroll = 1
        snapshot = s.source.fetch(state.query, previous: snapshot, now: s.clock)
        #expect(snapshot.log?.lines.count == 2)
        state.logScroll = 0
        snapshot = s.source.fetch(state.query, previous: snapshot, now: s.clock)
        #expect(snapshot.log?.lines.last == "more")
    }

    @Test func anUnchangedDatabaseIsNoticedCheaply() throws {
        let s = try Scratch()
        var state = MonitorState(width: 120, height: 40)
        let snapshot = s.refresh(&state)
        _ = s.source.hasChanges(since: snapshot)
        #expect(!s.source.hasChanges(since: snapshot))
        // Another connection commits.
        let other = try StoreOpener.open(s.address, .command(creating: false))
        _ = try other.enqueue([try JobSpec(id: "x", command: "true")], now: s.clock)
        #expect(s.source.hasChanges(since: snapshot))
    }
}

extension DataSourceTests {
    @Test func queuesAreFetchedAndPausedAndCappedFromTheConsole() throws {
        let s = try Scratch()
        _ = try s.store.enqueue([try JobSpec(id: "m1", command: "true", queue: "mail")], now: s.clock)
        var state = MonitorState(width: 120, height: 40)
        state.focus = .queues
        let snapshot = s.source.fetch(state.query, previous: nil, now: s.clock)
        #expect(snapshot.queues.map(\.name) == ["default", "mail"])
        #expect(snapshot.queues.last?.counts[.pending] == 1)
        #expect(s.source.perform(.pauseQueue("mail")).contains("paused queue mail"))
        #expect(s.source.perform(.setQueueLimit("mail", 3)).contains("at most 3"))
        let after = try s.store.queues().first { $0.name == "mail" }
        #expect(after?.paused == true && after?.concurrency == 3)
        // Jobs pane: /queue:mail lists that queue's jobs only.
        state.focus = .jobs
        state.filters[.jobs] = "queue:mail"
        #expect(s.source.fetch(state.query, previous: nil, now: s.clock).jobs.map(\.id) == ["m1"])
        state.filters[.jobs] = "queue:default"
        #expect(s.source.fetch(state.query, previous: nil, now: s.clock).jobs.isEmpty)
    }
}
