import Testing
@testable import QueueCore
@testable import QueueMonitor

/// The console's screens, computed without a terminal.
@Suite struct ViewModelTests {
    static let now = Timestamp(milliseconds: 1_800_000_000_000)

    static func job(_ id: String, _ state: JobState = .pending, command: String = "echo hi", error: String? = nil) -> Job {
        Job(id: id, command: command, state: state, attempts: state == .dead ? 3 : 0, maxRetries: 2, runAt: now,
            createdAt: now.adding(seconds: -30), updatedAt: now.adding(seconds: -5), lastError: error)
    }

    static func snapshot(jobs: [Job] = [], dead: [Job] = [], workers: [WorkerRecord] = [], total: Int? = nil) -> MonitorSnapshot {
        var s = MonitorSnapshot(databasePath: "/tmp/queue.db")
        s.jobs = jobs
        s.jobsTotal = total ?? jobs.count
        s.dead = dead
        s.deadTotal = dead.count
        s.workers = workers
        var counts: [JobState: Int] = [:]
        for j in jobs + dead { counts[j.state, default: 0] += 1 }
        s.counts = JobCounts(counts: counts)
        s.fetchedAt = now
        return s
    }

    static func worker(_ id: String, busyWith job: String? = nil) -> WorkerRecord {
        WorkerRecord(id: id, pid: 4242, pidStartTicks: 1, hostname: "h", state: job == nil ? .idle : .busy, jobID: job,
                     jobStartedAt: job == nil ? nil : now.adding(seconds: -2), startedAt: now.adding(seconds: -60),
                     heartbeatAt: now.adding(seconds: -1), jobsDone: 7)
    }

    func render(_ snapshot: MonitorSnapshot, _ state: MonitorState) -> Screen {
        MonitorViewModel(snapshot: snapshot, state: state, now: Self.now).render()
    }

    @Test(arguments: [(120, 40), (200, 60), (100, 24), (80, 24), (60, 15), (50, 12)])
    func everyFrameFitsItsTerminal(size: (Int, Int)) {
        let snapshot = Self.snapshot(jobs: [Self.job("a", command: "echo 完成 ✅ " + String(repeating: "x", count: 300))],
                                     dead: [Self.job("d", .dead, error: "exit code 1: ☃ boom")], workers: [Self.worker("w-1", busyWith: "a")])
        for focus in Pane.allCases {
            var state = MonitorState(width: size.0, height: size.1)
            state.focus = focus
            let screen = render(snapshot, state)
            #expect(screen.lines.count == size.1)
            for line in screen.lines { #expect(line.width <= size.0, "\(size) \(focus): \(line.text)") }
        }
    }

    @Test func wideTerminalShowsAllFourPanes() {
        let screen = render(Self.snapshot(jobs: [Self.job("job-one")], dead: [Self.job("dead-one", .dead)],
                                          workers: [Self.worker("w-abc", busyWith: "job-one")]),
                            MonitorState(width: 120, height: 40))
        for title in ["1 Jobs", "2 Workers", "3 DLQ", "4 Log tail", "job-one", "dead-one", "w-abc"] {
            #expect(screen.contains(title), "missing \(title)")
        }
    }

    static func queue(_ name: String, pending: Int = 0, running: Int = 0, limit: Int? = nil, paused: Bool = false) -> QueueSummary {
        QueueSummary(name: name, counts: JobCounts(counts: [.pending: pending, .processing: running]), concurrency: limit,
                     paused: paused, oldestWaitingSince: pending > 0 ? now.adding(seconds: -42) : nil)
    }

    @Test func queuesPaneShowsEachQueueAndActsOnTheSelectedOne() {
        var snapshot = Self.snapshot()
        snapshot.queues = [Self.queue("default"), Self.queue("mail", pending: 3, running: 2, limit: 2, paused: true)]
        snapshot.schedules = [Schedule(name: "nightly", rule: .cron("0 2 * * *", timeZone: "Europe/Berlin"), job: "{}",
                                       nextAt: Self.now.adding(seconds: 3 * 3600))]
        var state = MonitorState(width: 120, height: 40)
        let screen = render(snapshot, state)
        for text in ["5 Queues", "mail", "paused", "2/2", "42s", "default", "0/-", "nightly  next in 3h  0 2 * * * (Europe/Berlin)"] {
            #expect(screen.contains(text), "missing \(text)")
        }

        _ = state.handle(.char("5"), snapshot: snapshot)
        #expect(state.handle(.char("p"), snapshot: snapshot) == [.pauseQueue("default")])
        _ = state.handle(.down, snapshot: snapshot)
        #expect(state.handle(.char("p"), snapshot: snapshot) == [.resumeQueue("mail")])
        // L: type a limit, Enter sets it; 0 removes it; Esc leaves it.
        _ = state.handle(.char("L"), snapshot: snapshot)
        #expect(render(snapshot, state).contains("limit for queue mail: 2"))
        _ = state.handle(.backspace, snapshot: snapshot)
        _ = state.handle(.char("5"), snapshot: snapshot)
        #expect(state.handle(.enter, snapshot: snapshot) == [.setQueueLimit("mail", 5)])
        _ = state.handle(.char("L"), snapshot: snapshot)
        _ = state.handle(.backspace, snapshot: snapshot)
        #expect(state.handle(.enter, snapshot: snapshot) == [.setQueueLimit("mail", nil)])
        _ = state.handle(.char("L"), snapshot: snapshot)
        #expect(state.handle(.escape, snapshot: snapshot).isEmpty && state.editingLimit == nil)
        // Elsewhere p still pauses the refresh; read-only consoles do not act on queues.
        var readonly = MonitorState(width: 120, height: 40, readonly: true)
        readonly.focus = .queues
        #expect(readonly.handle(.char("p"), snapshot: snapshot).isEmpty)
    }

    @Test func narrowTerminalShowsOnePaneUnderTabs() {
        var state = MonitorState(width: 80, height: 24)
        state.focus = .dlq
        let screen = render(Self.snapshot(jobs: [Self.job("job-one")], dead: [Self.job("dead-one", .dead)]), state)
        #expect(screen.contains("1 Jobs") && screen.contains("4 Log tail"))   // the tab row
        #expect(screen.contains("dead-one"))
        #expect(!screen.contains("job-one"), "only the focused pane is drawn")
    }

    @Test func tooSmallSaysWhatItNeeds() {
        let screen = render(Self.snapshot(), MonitorState(width: 40, height: 10))
        #expect(screen.contains("need 50×12, have 40×10"))
    }

    @Test func textIsCutByDisplayWidthWithAnEllipsis() {
        #expect(DisplayWidth.of("完成") == 4)
        #expect(DisplayWidth.of("✅") == 2)
        #expect(DisplayWidth.of("résumé") == 6)
        let cut = DisplayWidth.fit("完成完成完成 ok", 7)
        #expect(DisplayWidth.of(cut) <= 7)
        #expect(cut.hasSuffix("…"))
        #expect(DisplayWidth.fit("short", 10) == "short")
        #expect(DisplayWidth.fit("tab\there", 20) == "tab here")
        #expect(DisplayWidth.of(DisplayWidth.pad("✅x", 6)) == 6)
    }

    @Test func listsNeverCapSilently() {
        let jobs = (0..<5).map { Self.job("j\($0)") }
        let screen = render(Self.snapshot(jobs: jobs, total: 12_345), MonitorState(width: 120, height: 40))
        #expect(screen.contains("1–5 of 12,345"))
    }

    @Test func everyStateHasItsCountAndLabel() {
        let jobs = [Self.job("p"), Self.job("c", .completed), Self.job("f", .failed)]
        let screen = render(Self.snapshot(jobs: jobs, dead: [Self.job("d", .dead)]), MonitorState(width: 120, height: 40))
        let header = screen.lines[1].text
        for state in JobState.allCases { #expect(header.contains(state.rawValue)) }
        let barColors = Set(screen.lines[1].spans.filter { $0.text.contains("█") }.compactMap(\.style.color))
        #expect(barColors == [.yellow, .green, .magenta, .red])
    }

    @Test func tabsAndDigitsMoveFocus() {
        var state = MonitorState(width: 120, height: 40)
        let s = Self.snapshot()
        _ = state.handle(.tab, snapshot: s)
        #expect(state.focus == .workers)
        _ = state.handle(.backTab, snapshot: s)
        _ = state.handle(.backTab, snapshot: s)
        #expect(state.focus == .queues)
        _ = state.handle(.backTab, snapshot: s)
        #expect(state.focus == .log)
        _ = state.handle(.char("3"), snapshot: s)
        #expect(state.focus == .dlq)
        _ = state.handle(.char("5"), snapshot: s)
        #expect(state.focus == .queues)
    }

    @Test func rRetriesTheSelectedDeadJob() {
        var state = MonitorState(width: 120, height: 40)
        let s = Self.snapshot(dead: [Self.job("d1", .dead), Self.job("d2", .dead)])
        _ = state.handle(.char("3"), snapshot: s)
        _ = state.handle(.down, snapshot: s)
        #expect(state.handle(.char("r"), snapshot: s) == [.retry(["d2"])])
    }

    @Test func markedRetryAsksFirstAndDefaultsToNo() {
        var state = MonitorState(width: 120, height: 40)
        let s = Self.snapshot(dead: [Self.job("d1", .dead), Self.job("d2", .dead), Self.job("d3", .dead)])
        _ = state.handle(.char("3"), snapshot: s)
        _ = state.handle(.char(" "), snapshot: s)   // marks d1, moves to d2
        _ = state.handle(.down, snapshot: s)
        _ = state.handle(.char(" "), snapshot: s)   // marks d3
        #expect(state.marked == ["d1", "d3"])
        #expect(state.handle(.char("R"), snapshot: s).isEmpty)
        #expect(state.confirmation == .retry(["d1", "d3"]))
        #expect(render(s, state).contains("Retry 2 marked jobs? [y/N]"))
        #expect(state.handle(.enter, snapshot: s).isEmpty, "anything but y means no")
        #expect(state.confirmation == nil)
        _ = state.handle(.char("R"), snapshot: s)
        #expect(state.handle(.char("y"), snapshot: s) == [.retry(["d1", "d3"])])
        // Nothing marked: R offers to retry the whole DLQ.
        _ = state.handle(.char("R"), snapshot: s)
        #expect(state.confirmation == .retryAllDead(3))
    }

    @Test func readonlyHidesEveryAction() {
        var state = MonitorState(width: 120, height: 40, readonly: true)
        let s = Self.snapshot(dead: [Self.job("d1", .dead)], workers: [Self.worker("w-1")])
        _ = state.handle(.char("3"), snapshot: s)
        #expect(state.handle(.char("r"), snapshot: s).isEmpty)
        #expect(state.handle(.char("+"), snapshot: s).isEmpty)
        #expect(state.handle(.char("-"), snapshot: s).isEmpty)
        _ = state.handle(.char("S"), snapshot: s)
        #expect(state.confirmation == nil)
        let help = KeyTable.helpLines(readonly: true).joined(separator: "\n")
        #expect(!help.contains("retry") && !help.contains("start a worker"))
    }

    @Test func workerKeysGoThroughTheSupervisor() {
        var state = MonitorState(width: 120, height: 40)
        let s = Self.snapshot(workers: [Self.worker("w-busy", busyWith: "a"), Self.worker("w-idle")])
        #expect(state.handle(.char("+"), snapshot: s) == [.startWorker])
        #expect(state.handle(.char("-"), snapshot: s) == [.stopWorker("w-idle")], "an idle worker is stopped first")
        _ = state.handle(.char("S"), snapshot: s)
        #expect(state.confirmation == .stopAllWorkers(2))
        #expect(state.handle(.char("y"), snapshot: s) == [.stopAllWorkers])
    }

    @Test func slashFiltersTheFocusedListAndEscClears() {
        var state = MonitorState(width: 120, height: 40)
        let s = Self.snapshot()
        _ = state.handle(.char("/"), snapshot: s)
        for c in "deploy" { _ = state.handle(.char(c), snapshot: s) }
        #expect(render(s, state).contains("/deploy"))
        _ = state.handle(.enter, snapshot: s)
        #expect(state.filter(.jobs) == "deploy")
        _ = state.handle(.escape, snapshot: s)
        #expect(state.filter(.jobs) == "")
    }

    @Test func helpIsGeneratedFromTheKeyTable() {
        var state = MonitorState(width: 160, height: 50)
        let s = Self.snapshot()
        _ = state.handle(.char("?"), snapshot: s)
        #expect(state.overlay == .help)
        let screen = render(s, state)
        for binding in KeyTable.bindings {
            #expect(screen.contains(binding.summary), "help lacks \(binding.label)")
        }
        _ = state.handle(.escape, snapshot: s)
        #expect(state.overlay == .none)
    }

    @Test func everyFooterKeyIsHandledByTheTable() {
        for pane in Pane.allCases {
            for binding in KeyTable.footer(for: pane, readonly: false) {
                #expect(KeyTable.action(for: binding.keys[0], in: pane, readonly: false) == binding.action)
            }
        }
    }

    @Test func ctrlCAlwaysQuitsEvenInAPrompt() {
        var state = MonitorState(width: 120, height: 40)
        let s = Self.snapshot(workers: [Self.worker("w")])
        _ = state.handle(.char("S"), snapshot: s)
        _ = state.handle(.ctrlC, snapshot: s)
        #expect(state.quit)
    }

    @Test func enterOpensTheDetailWithHistoryAndOutput() {
        var state = MonitorState(width: 120, height: 40)
        var s = Self.snapshot(jobs: [Self.job("a", .failed, error: "exit code 3: nope")])
        _ = state.handle(.enter, snapshot: s)
        #expect(state.overlay == .detail("a"))
        let run = RunRecord(id: 1, jobID: "a", attempt: 1, workerID: "w-1", startedAt: Self.now.adding(seconds: -3),
                            finishedAt: Self.now.adding(seconds: -2), outcome: .failed, exitCode: 3, error: "exit code 3: nope")
        s.detail = JobDetail(job: s.jobs[0], runs: [run], output: ["nope"])
        let screen = render(s, state)
        #expect(screen.contains("\"max_retries\": 2"))
        #expect(screen.contains("History"))
        #expect(screen.contains("failed") && screen.contains("1.000s"))
        #expect(screen.contains("Last error  exit code 3: nope"))
    }

    @Test func pauseIsShownInTheHeader() {
        var state = MonitorState(width: 120, height: 40)
        _ = state.handle(.char("p"), snapshot: Self.snapshot())
        #expect(render(Self.snapshot(), state).lines[0].text.contains("PAUSED"))
    }

    @Test func narrowPanesKeepTheColumnsThatMatter() {
        // The Workers pane of a 120-column terminal is 50 wide: the job stays, the pid goes.
        let narrow = WorkerColumns(width: 50)
        #expect(narrow.table.shows("JOB") && narrow.table.shows("STATE") && !narrow.table.shows("PID"))
        let row = narrow.row(Self.worker("w-abcdefghij", busyWith: "nightly-report"), now: Self.now)
        #expect(row.text.contains("nightly-report"))
        #expect(row.width <= 50)
        let wide = WorkerColumns(width: 100)
        #expect(wide.table.shows("PID") && wide.table.shows("BEAT") && wide.table.shows("DONE"))
        let jobs = JobColumns(width: 40)
        #expect(jobs.table.shows("COMMAND") && jobs.table.shows("STATE") && !jobs.table.shows("PRI"))
        for width in stride(from: 20, through: 200, by: 7) {
            #expect(JobColumns(width: width).row(Self.job("a"), now: Self.now).width <= max(width, 1 + 10 + 1 + 10 + 1 + 10))
            #expect(DeadColumns(width: width).row(Self.job("d", .dead, error: "x"), marked: true, now: Self.now).width
                    <= max(width, 3 + 10 + 1 + 12))
        }
    }

    @Test func theFooterShowsWholeEntriesOnly() {
        for width in [50, 60, 80, 120] {
            var state = MonitorState(width: width, height: 30)
            state.focus = .dlq
            let footer = render(Self.snapshot(), state).lines.last!
            #expect(footer.width <= width)
            #expect(!footer.text.contains("…"), "\(width): \(footer.text)")
            #expect(footer.text.contains(" q  quit "))
        }
        var state = MonitorState(width: 200, height: 30)
        state.focus = .dlq
        let wide = render(Self.snapshot(), state).lines.last!.text
        for entry in ["r  retry", "Space  mark", "R  retry marked", "/  filter", "Enter  detail"] { #expect(wide.contains(entry), "\(wide)") }
    }

    @Test func overlaysScrollWhenTheyDoNotFit() {
        var state = MonitorState(width: 60, height: 15)
        let s = Self.snapshot()
        _ = state.handle(.char("?"), snapshot: s)
        var screen = render(s, state)
        #expect(screen.contains("Everywhere"))
        let helpCount = KeyTable.helpLines(readonly: false).count
        #expect(screen.contains("lines 1–10 of \(helpCount)"))
        _ = state.handle(.char("j"), snapshot: s)
        screen = render(s, state)
        #expect(!screen.contains("Everywhere"))
        #expect(screen.contains("lines 2–11 of"))
        _ = state.handle(.char("G"), snapshot: s)
        #expect(render(s, state).contains("retry the marked (or all) dead jobs"))
        _ = state.handle(.pageDown, snapshot: s)
        #expect(state.overlayScroll == helpCount - 10, "never past the end")
        _ = state.handle(.char("g"), snapshot: s)
        #expect(state.overlayScroll == 0)
        for line in render(s, state).lines { #expect(line.width <= 60) }
    }

    @Test func qQuitsEvenFromAnOverlay() {
        var state = MonitorState(width: 120, height: 40)
        _ = state.handle(.char("?"), snapshot: Self.snapshot())
        _ = state.handle(.char("q"), snapshot: Self.snapshot())
        #expect(state.quit)
    }

    @Test func jobOutputIsCleanedForTheScreen() {
        #expect(LogText.clean("\u{1B}[1;31mERROR\u{1B}[0m: failed") == "ERROR: failed")
        #expect(LogText.clean("downloading 10%\rdownloading 99%\rdone") == "done")
        #expect(LogText.clean("windows line\r") == "windows line")
        #expect(LogText.clean("a\tb") == "a       b")
        #expect(LogText.clean("\u{1B}]0;title\u{7}text") == "text")
        #expect(LogText.clean("bell\u{7} and \u{8}backspace") == "bell and backspace")
        #expect(LogText.clean("完成 ✅") == "完成 ✅")
    }

    @Test func theSparklineShowsEveryMinute() {
        #expect(String(MonitorViewModel.sparkline([0, 1, 7, 0])) == "▁▂█▁")
        #expect(String(MonitorViewModel.sparkline([0, 0])) == "▁▁")
        var s = Self.snapshot()
        s.succeededPerMinute = [0, 3, 5]
        s.failedPerMinute = [0, 0, 2]
        #expect(render(s, MonitorState(width: 120, height: 40)).lines[2].text.contains("▁▄█ runs/min, last 3 min"))
    }

    @Test func theClockIsLocalTime() {
        let screen = MonitorViewModel(snapshot: Self.snapshot(), state: MonitorState(width: 120, height: 40), now: Self.now,
                                      utcOffsetSeconds: 3600).render()
        let utc = String(Self.now.iso8601.dropFirst(11).prefix(2))
        let local = String(format: "%02d", (Int(utc)! + 1) % 24)
        #expect(screen.lines[0].text.contains(" \(local):"))
    }

    @Test func aSilentRunSaysNoOutputOnlyWhileItRuns() {
        var s = Self.snapshot(jobs: [Self.job("quiet", .completed)])
        s.log = LogTail(jobID: "quiet", attempt: 1, running: true, lines: [])
        #expect(render(s, MonitorState(width: 120, height: 40)).contains("(no output yet)"))
        s.log?.running = false
        let finished = render(s, MonitorState(width: 120, height: 40))
        #expect(finished.contains("(no output)") && !finished.contains("(no output yet)"))
    }

    @Test func emptyListsSayWhy() {
        var state = MonitorState(width: 120, height: 40)
        state.filters[.jobs] = "nomatch"
        let screen = render(Self.snapshot(), state)
        #expect(screen.contains("no job matches /nomatch"))
        #expect(screen.contains("the DLQ is empty"))
        #expect(screen.contains("no workers: + starts one"))
    }

    @Test func databaseErrorsShowInABanner() {
        var s = Self.snapshot()
        s.error = "database /tmp/queue.db is locked by another process (waited 10 s); try again"
        #expect(render(s, MonitorState(width: 120, height: 40)).contains("locked by another process"))
    }
}
