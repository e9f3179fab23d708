import Foundation
import Testing
@testable import QueueCore
@testable import QueueMonitor

/// The console's small courtesies: the top of a list stays at the top, the footer
/// says "resume" while paused, read-only keys say why they do nothing, the filter
/// follows typing, state tabs show counts, the DLQ is most recently died first, an
/// idle worker's log tail keeps its last job's output.
@Suite struct MonitorNicetiesTests {
    typealias Scratch = DataSourceTests.Scratch

    @Test func aCursorOnTheFirstRowStaysAtTheTopAsNewJobsArrive() throws {
        let s = try Scratch()
        try s.enqueue((1...5).map { "old-\($0)" })
        var state = MonitorState(width: 120, height: 40)
        var snapshot = s.refresh(&state)
        #expect(state.selectedJobID(snapshot: snapshot) == "old-5")
        try s.enqueue(["new-1", "new-2"])
        snapshot = s.refresh(&state, previous: snapshot)
        #expect(state.cursor(.jobs).index == 0)
        #expect(state.selectedJobID(snapshot: snapshot) == "new-2", "the newest job is selected at the top")
    }

    @Test func theFooterSaysResumeWhilePaused() {
        var state = MonitorState(width: 160, height: 40)
        let snapshot = MonitorSnapshot(databasePath: "/tmp/q.db")
        let before = MonitorViewModel(snapshot: snapshot, state: state, now: snapshot.fetchedAt).footerKeys(width: 160).text
        #expect(before.contains(" pause ") && !before.contains("resume"))
        _ = state.handle(.char("p"), snapshot: snapshot)
        let after = MonitorViewModel(snapshot: snapshot, state: state, now: snapshot.fetchedAt).footerKeys(width: 160).text
        #expect(after.contains(" resume ") && !after.contains(" pause "), "\(after)")
    }

    @Test func readonlyKeysSayWhyTheyDoNothing() {
        var state = MonitorState(width: 120, height: 40, readonly: true)
        let snapshot = MonitorSnapshot(databasePath: "/tmp/q.db")
        #expect(state.handle(.char("+"), snapshot: snapshot).isEmpty)
        #expect(state.flash?.contains("read-only") == true, "\(state.flash ?? "no message")")
        state.flash = nil
        _ = state.handle(.char("x"), snapshot: snapshot)
        #expect(state.flash == nil, "a key that does nothing anyway says nothing")
    }

    @Test func theFilterAppliesAsYouType() throws {
        let s = try Scratch()
        try s.enqueue(["alpha", "beta", "alpine"])
        var state = MonitorState(width: 120, height: 40)
        var snapshot = s.refresh(&state)
        _ = state.handle(.char("/"), snapshot: snapshot)
        for c in "alp" { _ = state.handle(.char(c), snapshot: snapshot) }
        snapshot = s.refresh(&state, previous: snapshot)
        #expect(Set(snapshot.jobs.map(\.id)) == ["alpha", "alpine"], "filtered before Enter")
        _ = state.handle(.escape, snapshot: snapshot)
        snapshot = s.refresh(&state, previous: snapshot)
        #expect(snapshot.jobs.count == 3)
    }

    @Test func stateTabsShowCounts() throws {
        let s = try Scratch()
        try s.enqueue(["a", "b"])
        try s.enqueueDead(["d"])
        var state = MonitorState(width: 160, height: 40)
        let snapshot = s.refresh(&state)
        let screen = MonitorViewModel(snapshot: snapshot, state: state, now: s.clock).render().text
        #expect(screen.contains("[all 3]") && screen.contains("pending 2") && screen.contains("dead 1"), "\(screen)")
    }

    @Test func theDLQShowsTheMostRecentlyDiedFirst() throws {
        let s = try Scratch()
        try s.enqueueDead(["first", "second"])
        // "first" is retried and dies again: it died most recently.
        _ = try s.store.retryDead(ids: ["first"], now: s.clock)
        s.clock = s.clock.adding(seconds: 1)
        guard case let .claimed(claimed) = try s.store.claim(workerID: "w-test", now: s.clock) else {
            Issue.record("nothing to claim")
            return
        }
        _ = try s.store.finish(claimed, workerID: "w-test", result: RunResult(outcome: .failed, exitCode: 1, error: "again"), now: s.clock)
        var state = MonitorState(width: 120, height: 40)
        _ = state.handle(.char("3"), snapshot: MonitorSnapshot(databasePath: ""))
        let snapshot = s.refresh(&state)
        #expect(snapshot.dead.map(\.id) == ["first", "second"])
    }

    @Test func anIdleWorkersPaneKeepsItsLastJobsOutput() throws {
        let s = try Scratch()
        try s.enqueue(["job-1"])
        guard case let .claimed(claimed) = try s.store.claim(workerID: "w-test", now: s.clock) else {
            Issue.record("nothing to claim")
            return
        }
        var state = MonitorState(width: 120, height: 40)
        _ = state.handle(.char("2"), snapshot: MonitorSnapshot(databasePath: ""))
        var snapshot = s.refresh(&state)
        #expect(snapshot.log?.jobID == "job-1" && snapshot.log?.running == true)
        _ = try s.store.finish(claimed, workerID: "w-test", result: RunResult(outcome: .succeeded, exitCode: 0), now: s.clock)
        snapshot = s.refresh(&state, previous: snapshot)
        #expect(snapshot.workers.first?.jobID == nil, "the worker is idle")
        #expect(snapshot.log?.jobID == "job-1" && snapshot.log?.running == false, "its last job's output stays: \(String(describing: snapshot.log))")
    }
}
