import Foundation
import QueueCore

/// Turns a snapshot and the console state into a frame. Pure: no terminal, no
/// database, no clock but the one passed in, so every layout is testable.
public struct MonitorViewModel {
    public var snapshot: MonitorSnapshot
    public var state: MonitorState
    public var now: Timestamp
    /// Offset of local time from UTC, for the header's clock (the painter passes the
    /// machine's; tests keep UTC).
    public var utcOffsetSeconds: Int

    public init(snapshot: MonitorSnapshot, state: MonitorState, now: Timestamp, utcOffsetSeconds: Int = 0) {
        self.snapshot = snapshot
        self.state = state
        self.now = now
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    private var layout: Layout { Layout(width: state.width, height: state.height, focus: state.focus) }

    public func render() -> Screen {
        let w = state.width, h = state.height
        var canvas = Canvas(width: w, height: h)
        if layout.tooSmall {
            let message = "need \(Layout.minimumWidth)×\(Layout.minimumHeight), have \(w)×\(h) (q quits)"
            canvas.put(Line(message, TextStyle(bold: true)), at: max(0, h / 2), x: 0)
            return canvas.screen
        }
        header(&canvas)
        if layout.single { paneTabs(&canvas) }
        for (pane, rect) in layout.panes { draw(pane, in: rect, on: &canvas) }
        footer(&canvas)
        switch state.overlay {
        case .none: break
        case .help: box(title: "Keys", lines: overlayLines(), on: &canvas)
        case let .detail(id): box(title: "Job \(id)", lines: overlayLines(), on: &canvas)
        }
        return canvas.screen
    }

    /// The open overlay's lines, before they are framed and scrolled.
    func overlayLines() -> [Line] {
        switch state.overlay {
        case .none: return []
        case .help:
            return KeyTable.helpLines(readonly: state.readonly).map { text in
                text.hasPrefix(" ") || text.isEmpty ? Line(text) : Line(text, TextStyle(bold: true))
            }
        case let .detail(id): return detailLines(id)
        }
    }

    // MARK: Header

    private func header(_ c: inout Canvas) {
        let w = state.width
        let age = snapshot.fetchedAt.milliseconds == 0 ? "loading…" : "updated \(Self.duration(now.seconds(since: snapshot.fetchedAt))) ago"
        let right = "\(Self.clock(now.adding(seconds: Double(utcOffsetSeconds)))) · \(age)" + (state.paused ? "  PAUSED" : "")
        let title = " queuectl monitor  " + snapshot.databasePath
        let titleWidth = max(0, w - DisplayWidth.of(right) - 1)
        c.put(Line([Span(DisplayWidth.pad(title, titleWidth), TextStyle(bold: true)), Span(" "),
                    Span(right, TextStyle(bold: state.paused, reverse: state.paused))]), at: 0, x: 0)

        var counts: [Span] = []
        for state in JobState.allCases {
            counts.append(Span(" \(state.rawValue) ", TextStyle(color: state.color)))
            counts.append(Span("\(Self.grouped(snapshot.counts[state])) ", TextStyle(bold: true)))
        }
        let countsWidth = counts.reduce(0) { $0 + DisplayWidth.of($1.text) }
        let barWidth = max(0, w - countsWidth - 3)
        c.put(Line([Span(" ")] + stackedBar(width: barWidth) + counts), at: 1, x: 0)

        let busy = snapshot.workers.filter { $0.state == .busy }.count
        let idle = snapshot.workers.filter { $0.state == .idle }.count
        let stopping = snapshot.workers.count - busy - idle
        var line3 = " workers \(snapshot.workers.count) (\(busy) busy, \(idle) idle\(stopping > 0 ? ", \(stopping) stopping" : ""))"
        line3 += "   completed \(snapshot.completedLastMinute)/min  failed \(snapshot.failedLastMinute)/min   "
        var perMinute = zip(snapshot.succeededPerMinute, snapshot.failedPerMinute).map { $0 + $1 }
        var spans = [Span(line3)]
        // The newest minutes that fit, with their caption when there is room.
        let room = max(0, w - DisplayWidth.of(line3))
        let captionWidth = DisplayWidth.of(" runs/min, last 30 min")
        var caption = ""
        if room >= captionWidth + 10 {
            perMinute = Array(perMinute.suffix(room - captionWidth))
            caption = " runs/min, last \(perMinute.count) min"
        } else {
            perMinute = Array(perMinute.suffix(room))
        }
        if !perMinute.isEmpty {
            spans += Self.sparkline(perMinute).map { cell in
                cell == "▁" ? Span(String(cell), TextStyle(dim: true)) : Span(String(cell), TextStyle(color: .green))
            }
            spans.append(Span(caption, TextStyle(dim: true)))
        }
        c.put(Line(spans), at: 2, x: 0)
    }

    private func stackedBar(width: Int) -> [Span] {
        guard width >= 3 else { return [] }
        let inner = width - 2
        let total = snapshot.counts.total
        var spans = [Span("[")]
        guard total > 0 else { return spans + [Span(String(repeating: "·", count: inner), TextStyle(dim: true)), Span("]")] }
        var used = 0
        let states = JobState.allCases.filter { snapshot.counts[$0] > 0 }
        for (i, state) in states.enumerated() {
            var cells = Int((Double(snapshot.counts[state]) / Double(total) * Double(inner)).rounded())
            cells = max(1, cells)
            if i == states.count - 1 { cells = inner - used }
            cells = max(0, min(cells, inner - used))
            used += cells
            spans.append(Span(String(repeating: "█", count: cells), TextStyle(color: state.color)))
        }
        if used < inner { spans.append(Span(String(repeating: " ", count: inner - used))) }
        return spans + [Span("]")]
    }

    private func paneTabs(_ c: inout Canvas) {
        var spans: [Span] = []
        for pane in Pane.allCases {
            let label = " \(pane.rawValue + 1) \(pane.title) "
            spans.append(Span(label, pane == state.focus ? TextStyle(bold: true, reverse: true) : TextStyle(dim: true)))
            spans.append(Span(" "))
        }
        c.put(Line(spans), at: Layout.headerHeight, x: 0)
    }

    // MARK: Panes

    private func draw(_ pane: Pane, in rect: Rect, on c: inout Canvas) {
        let focused = pane == state.focus
        var title = " \(pane.rawValue + 1) \(pane.title)"
        var rightInfo = ""
        var rows: [(Line, Bool)] = []   // (line, selected)
        var columns = Line()
        let cursor = state.cursor(pane)
        let width = rect.width
        switch pane {
        case .jobs:
            // Each tab with its count, so the queue's shape shows without switching.
            title += "  " + MonitorState.stateTabs.map { tab in
                let name = (tab?.rawValue ?? "all") + " " + String(tab.map { snapshot.counts[$0] } ?? snapshot.counts.total)
                return tab == state.stateTab ? "[\(name)]" : name
            }.joined(separator: " ")
            rightInfo = Self.range(offset: snapshot.jobsOffset, count: snapshot.jobs.count, total: snapshot.jobsTotal)
            if !state.markedJobs.isEmpty { rightInfo = "\(state.markedJobs.count) marked · " + rightInfo }
            let table = JobColumns(width: width)
            columns = table.header
            for (i, job) in snapshot.jobs.enumerated() {
                rows.append((table.row(job, marked: state.markedJobs.contains(job.id), now: now), snapshot.jobsOffset + i == cursor.index))
            }
        case .dlq:
            rightInfo = Self.range(offset: snapshot.deadOffset, count: snapshot.dead.count, total: snapshot.deadTotal)
            if !state.marked.isEmpty { rightInfo = "\(state.marked.count) marked · " + rightInfo }
            let table = DeadColumns(width: width)
            columns = table.header
            for (i, job) in snapshot.dead.enumerated() {
                rows.append((table.row(job, marked: state.marked.contains(job.id), now: now), snapshot.deadOffset + i == cursor.index))
            }
        case .workers:
            let workers = state.visibleWorkers(snapshot)
            rightInfo = "\(workers.count)"
            let table = WorkerColumns(width: width)
            columns = table.header
            let visible = workers.dropFirst(cursor.offset).prefix(layout.rows(for: .workers))
            for (i, worker) in visible.enumerated() {
                rows.append((table.row(worker, now: now), cursor.offset + i == cursor.index))
            }
        case .queues:
            rightInfo = "\(snapshot.queues.count)"
            let table = QueueColumns(width: width)
            columns = table.header
            let visible = snapshot.queues.dropFirst(cursor.offset).prefix(layout.rows(for: .queues))
            for (i, queue) in visible.enumerated() {
                rows.append((table.row(queue, now: now), cursor.offset + i == cursor.index))
            }
            // Schedules follow the queues, with their next run (not selectable).
            if !snapshot.schedules.isEmpty { rightInfo += " · \(snapshot.schedules.count) schedule\(snapshot.schedules.count == 1 ? "" : "s")" }
            for schedule in snapshot.schedules {
                let next = schedule.paused ? "paused" : "next in " + Self.duration(schedule.nextAt.seconds(since: now))
                rows.append((Line(DisplayWidth.fit(" ⏱ \(schedule.name)  \(next)  \(Self.ruleText(schedule.rule))", width),
                                  TextStyle(dim: true)), false))
            }
        case .log:
            if let log = snapshot.log {
                title += "  \(log.jobID) run #\(log.attempt) " + (log.running ? "running" : "finished")
                rightInfo = state.logScroll == 0 ? (log.running ? "following" : "end") : "paused ↑\(state.logScroll), G follows"
                let visible = layout.rows(for: .log)
                let end = max(0, log.lines.count - state.logScroll)
                let start = max(0, end - visible)
                for line in log.lines[start..<end] { rows.append((Line(DisplayWidth.fit(line, width)), false)) }
                if log.lines.isEmpty { rows.append((Line(log.running ? "(no output yet)" : "(no output)", TextStyle(dim: true)), false)) }
            } else if let id = state.selectedJobID(snapshot: snapshot) {
                rows.append((Line(" \(id) has not run yet", TextStyle(dim: true)), false))
            } else if state.logSource == .workers {
                rows.append((Line(" the selected worker is not running a job", TextStyle(dim: true)), false))
            } else {
                rows.append((Line(" select a job to see its output", TextStyle(dim: true)), false))
            }
        }
        if let f = state.filters[pane], !f.isEmpty { rightInfo = "/\(f)  " + rightInfo }
        let titleStyle = focused ? TextStyle(bold: true, reverse: true) : TextStyle(bold: true, dim: true)
        let titleText = DisplayWidth.pad(title, max(0, width - DisplayWidth.of(rightInfo) - 1)) + " " + rightInfo
        c.put(Line(DisplayWidth.pad(titleText, width), titleStyle), at: rect.y, x: rect.x, width: width)
        var y = rect.y + 1
        if pane != .log {
            c.put(columns, at: y, x: rect.x, width: width)
            y += 1
            if rows.isEmpty {
                c.put(Line(" " + emptyMessage(pane), TextStyle(dim: true)), at: y, x: rect.x, width: width)
            }
        }
        for (line, selected) in rows where y < rect.y + rect.height {
            var shown = line
            if selected {
                shown = Line(line.spans.map { Span($0.text, TextStyle(color: $0.style.color, bold: true, reverse: focused)) })
                shown.spans.append(Span(String(repeating: " ", count: max(0, width - line.width)), TextStyle(reverse: focused)))
            }
            c.put(shown, at: y, x: rect.x, width: width)
            y += 1
        }
    }

    static func ruleText(_ rule: Schedule.Rule) -> String {
        switch rule {
        case let .cron(expression, zone): return "\(expression) (\(zone))"
        case let .every(seconds): return "every \(DurationText.exact(seconds))"
        }
    }

    private func emptyMessage(_ pane: Pane) -> String {
        let filtered = !(state.filters[pane] ?? "").isEmpty
        switch pane {
        case .jobs:
            if filtered { return "no job matches /\(state.filter(.jobs))" }
            return state.stateTab.map { "no \($0.rawValue) jobs" } ?? "no jobs yet"
        case .dlq: return filtered ? "no dead job matches /\(state.filter(.dlq))" : "the DLQ is empty"
        case .workers:
            if filtered { return "no worker matches /\(state.filter(.workers))" }
            return state.readonly ? "no workers" : "no workers: + starts one"
        case .log: return ""
        case .queues: return "no queues yet"
        }
    }

    // MARK: Footer

    private func footer(_ c: inout Canvas) {
        let y = state.height - 2
        if let confirmation = state.confirmation {
            c.put(Line(" " + confirmation.question, TextStyle(bold: true, reverse: true)), at: y, x: 0)
        } else if let editing = state.editingLimit {
            c.put(Line(" limit for queue \(state.limitQueue ?? ""): \(editing)▏  (Enter sets, 0 or empty removes, Esc cancels)",
                       TextStyle(bold: true)), at: y, x: 0)
        } else if let editing = state.editingFilter {
            c.put(Line(" filter \(state.focus.title): /\(editing)▏  (Enter applies, Esc clears)", TextStyle(bold: true)), at: y, x: 0)
        } else if let error = snapshot.error {
            c.put(Line(" ⚠ \(error) — retrying", TextStyle(color: .red, bold: true, reverse: true)), at: y, x: 0)
        } else if let flash = state.flash {
            c.put(Line(" " + flash, TextStyle(bold: true)), at: y, x: 0)
        }
        c.put(footerKeys(width: state.width), at: state.height - 1, x: 0)
    }

    /// The focused pane's keys, as many whole entries as fit.
    func footerKeys(width: Int) -> Line {
        var spans: [Span] = []
        var used = 0
        let tail = state.readonly ? " read-only" : ""
        for binding in KeyTable.footer(for: state.focus, readonly: state.readonly) {
            // While paused, the pause key's word says what it will do.
            let short = binding.action == .pause && state.paused ? "resume" : binding.short
            let key = " \(binding.label) ", text = " \(short) "
            let w = DisplayWidth.of(key) + DisplayWidth.of(text)
            if used + w + DisplayWidth.of(tail) > width { continue }
            spans += [Span(key, TextStyle(reverse: true)), Span(text)]
            used += w
        }
        if !tail.isEmpty { spans.append(Span(tail, TextStyle(dim: true))) }
        return Line(spans)
    }

    // MARK: Overlays

    private func detailLines(_ id: String) -> [Line] {
        guard let detail = snapshot.detail, detail.job.id == id else { return [Line("loading…", TextStyle(dim: true))] }
        var lines: [Line] = []
        for text in detail.job.json.serialized(pretty: true).split(separator: "\n", omittingEmptySubsequences: false) {
            let s = String(text)
            if s.contains("\"state\":") {
                lines.append(Line([Span(s, TextStyle(color: detail.job.state.color, bold: true))]))
            } else {
                lines.append(Line(s))
            }
        }
        if !detail.dependents.isEmpty {
            lines.append(Line(""))
            lines.append(Line([Span("Dependents  ", TextStyle(bold: true)), Span(detail.dependents.joined(separator: ", "))]))
        }
        lines.append(Line(""))
        lines.append(Line("History", TextStyle(bold: true)))
        lines.append(Line("  RUN  OUTCOME      EXIT   DURATION  STARTED                   WORKER", TextStyle(dim: true)))
        for run in detail.runs {
            let outcome = run.outcome?.rawValue ?? "running"
            let exit = run.exitCode.map(String.init) ?? run.signal.map { "sig\($0)" } ?? "-"
            let duration = run.durationSeconds.map { String(format: "%.3fs", $0) } ?? Self.duration(now.seconds(since: run.startedAt))
            let color: StateColor = run.outcome == .succeeded ? .green : (run.outcome == nil ? .blue : .red)
            lines.append(Line([
                Span("  #\(run.number)".padding(toLength: 7, withPad: " ", startingAt: 0)),
                Span(outcome.padding(toLength: 13, withPad: " ", startingAt: 0), TextStyle(color: color)),
                Span(exit.padding(toLength: 7, withPad: " ", startingAt: 0) + duration.padding(toLength: 10, withPad: " ", startingAt: 0)
                     + run.startedAt.iso8601 + "  " + run.workerID),
            ]))
            if let error = run.error { lines.append(Line("       " + error, TextStyle(dim: true))) }
        }
        if detail.runs.isEmpty { lines.append(Line("  no runs yet", TextStyle(dim: true))) }
        if let error = detail.job.lastError {
            lines.append(Line(""))
            lines.append(Line([Span("Last error  ", TextStyle(bold: true)), Span(error, TextStyle(color: .red))]))
        }
        lines.append(Line(""))
        let run = detail.runs.last.map { "run #\($0.number)" } ?? "latest run"
        lines.append(Line("Output (\(run), last \(detail.output.count) lines)", TextStyle(bold: true)))
        lines += detail.output.isEmpty ? [Line("  (no output)", TextStyle(dim: true))] : detail.output.map { Line("  " + $0) }
        return lines
    }

    /// A framed box over the panes, scrolled to `state.overlayScroll`, with the
    /// visible range in its last row when it does not all fit.
    private func box(title: String, lines: [Line], on c: inout Canvas) {
        let w = state.width, h = state.height
        let capacity = min(Layout.overlayCapacity(height: h), max(1, lines.count))
        let boxWidth = min(w - 2, max(60, w * 9 / 10))
        let boxHeight = capacity + 3
        let x = (w - boxWidth) / 2
        let y = max(1, (h - boxHeight) / 2)
        let inner = boxWidth - 4
        // A blank margin sets the box off from the panes under it.
        for row in max(1, y - 1)...max(1, min(h - 2, y + boxHeight)) {
            c.put(Line(String(repeating: " ", count: boxWidth + 2)), at: row, x: max(0, x - 1), width: min(w, boxWidth + 2))
        }
        let heading = DisplayWidth.fit("─ \(title) ", boxWidth - 2)
        c.put(Line("┌" + heading + String(repeating: "─", count: max(0, boxWidth - 2 - DisplayWidth.of(heading))) + "┐", TextStyle(bold: true)),
              at: y, x: x, width: boxWidth)
        let first = max(0, min(state.overlayScroll, lines.count - capacity))
        let shown = Array(lines.dropFirst(first).prefix(capacity))
        for i in 0..<capacity {
            var row = Line([Span("│ ", TextStyle(bold: true))])
            let line = i < shown.count ? Canvas.clip(shown[i], inner) : Line()
            row.spans += line.spans
            row.spans.append(Span(String(repeating: " ", count: max(0, inner - line.width)) + " "))
            row.spans.append(Span("│", TextStyle(bold: true)))
            c.put(row, at: y + 1 + i, x: x, width: boxWidth)
        }
        var hint = " Esc closes"
        if lines.count > capacity {
            hint += " · j/k scroll · lines \(first + 1)–\(first + shown.count) of \(lines.count)"
        }
        c.put(Line([Span("│", TextStyle(bold: true)), Span(DisplayWidth.pad(hint, boxWidth - 2), TextStyle(dim: true)),
                    Span("│", TextStyle(bold: true))]), at: y + boxHeight - 2, x: x, width: boxWidth)
        c.put(Line("└" + String(repeating: "─", count: boxWidth - 2) + "┘", TextStyle(bold: true)), at: y + boxHeight - 1, x: x, width: boxWidth)
    }

    // MARK: Formatting

    static func range(offset: Int, count: Int, total: Int) -> String {
        guard total > 0, count > 0 else { return "0 of \(grouped(total))" }
        return "\(grouped(offset + 1))–\(grouped(offset + count)) of \(grouped(total))"
    }

    static func grouped(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, ch) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 && ch != "-" { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }

    static func duration(_ seconds: Double) -> String { DurationText.format(seconds) }

    static func clock(_ t: Timestamp) -> String {
        String(t.iso8601.dropFirst(11).prefix(8))
    }

    /// One cell per value: "▁" is zero, any other value at least "▂", the
    /// largest "█".
    static func sparkline(_ values: [Int]) -> [Character] {
        let blocks = Array("▁▂▃▄▅▆▇█")
        let top = max(1, values.max() ?? 0)
        return values.map { $0 <= 0 ? blocks[0] : blocks[max(1, min(7, ($0 * 7 + top - 1) / top))] }
    }
}

/// A frame being drawn: rows of lines, each clipped to the screen.
struct Canvas {
    let width: Int
    let height: Int
    private var rows: [[(x: Int, line: Line)]]

    init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        rows = Array(repeating: [], count: max(0, height))
    }

    /// Puts `line` at row `y` from column `x`, at most `width` cells wide.
    mutating func put(_ line: Line, at y: Int, x: Int, width: Int? = nil) {
        guard y >= 0, y < height, x < self.width else { return }
        let room = min(width ?? (self.width - x), self.width - x)
        rows[y].append((x, Canvas.clip(line, room)))
    }

    static func clip(_ line: Line, _ width: Int) -> Line {
        var remaining = width
        var spans: [Span] = []
        for (i, span) in line.spans.enumerated() where remaining > 0 {
            let w = DisplayWidth.of(span.text)
            if w <= remaining && !(i < line.spans.count - 1 && w == remaining && line.width > width) {
                spans.append(span)
                remaining -= w
            } else {
                spans.append(Span(DisplayWidth.fit(span.text, remaining), span.style))
                remaining = 0
            }
        }
        return Line(spans)
    }

    /// Flattens the placed lines into full-width rows (later puts overwrite).
    var screen: Screen {
        var lines: [Line] = []
        for placed in rows {
            var cells: [(Character, TextStyle)?] = Array(repeating: nil, count: width)
            for (x, line) in placed {
                var col = x
                for span in line.spans {
                    for ch in span.text {
                        let w = DisplayWidth.of(String(ch))
                        if w == 0 { continue }
                        guard col + w <= width else { break }
                        cells[col] = (ch, span.style)
                        if w == 2 { cells[col + 1] = ("\u{0}", span.style) }   // right half of a wide character
                        col += w
                    }
                }
            }
            var spans: [Span] = []
            for cell in cells {
                let (ch, style) = cell ?? (" ", .plain)
                if ch == "\u{0}" { continue }
                if let last = spans.last, last.style == style {
                    spans[spans.count - 1].text.append(ch)
                } else {
                    spans.append(Span(String(ch), style))
                }
            }
            lines.append(Line(spans))
        }
        return Screen(width: width, height: height, lines: lines)
    }
}
