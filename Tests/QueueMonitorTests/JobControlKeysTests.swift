import Testing
@testable import QueueCore
@testable import QueueMonitor

/// The Jobs pane's job-control keys: c (cancel), n (run now), R (requeue), each
/// after y/N, on the marked jobs or else the selected one.
@Suite struct JobControlKeysTests {
    typealias V = ViewModelTests

    @Test func cCancelsTheSelectedJobOnlyAfterYes() {
        var state = MonitorState(width: 120, height: 40)
        let s = V.snapshot(jobs: [V.job("a"), V.job("b")])
        #expect(state.handle(.char("c"), snapshot: s).isEmpty)
        #expect(state.confirmation == .cancel(["a"]))
        #expect(MonitorViewModel(snapshot: s, state: state, now: V.now).render().contains("Cancel job a? [y/N]"))
        #expect(state.handle(.char("y"), snapshot: s) == [.cancel(["a"])])
        // Anything but y leaves the job alone.
        _ = state.handle(.char("c"), snapshot: s)
        #expect(state.handle(.char("n"), snapshot: s).isEmpty && state.confirmation == nil)
    }

    @Test func markedJobsAreCancelledRunNowOrRequeuedTogether() {
        var state = MonitorState(width: 120, height: 40)
        let s = V.snapshot(jobs: [V.job("a"), V.job("b"), V.job("c")])
        _ = state.handle(.char(" "), snapshot: s)   // marks a, moves to b
        _ = state.handle(.char(" "), snapshot: s)   // marks b
        #expect(state.markedJobs == ["a", "b"])
        _ = state.handle(.char("n"), snapshot: s)
        #expect(state.confirmation == .runNow(["a", "b"]))
        #expect(state.handle(.char("y"), snapshot: s) == [.runNow(["a", "b"])])
        #expect(state.markedJobs.isEmpty)
        _ = state.handle(.char("R"), snapshot: s)
        #expect(state.confirmation == .requeue([state.selectedJobID(snapshot: s) ?? "?"]))
    }

    @Test func readonlyConsolesHaveNoJobControlKeys() {
        for key in ["c", "n", "R"] {
            #expect(KeyTable.action(for: .char(Character(key)), in: .jobs, readonly: true) == nil)
        }
    }
}
