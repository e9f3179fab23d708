import QueueCore

/// A table that fits its pane: fixed columns are dropped, least useful first,
/// until the flexible one (the command, the error, the job) has room; every cell
/// is cut by display width.
struct Table {
    struct Column {
        var title: String
        var width: Int
        var rightAligned = false
        /// Takes the width left over (at least `width`).
        var flexible = false
        /// Dropped when the pane is narrow: higher goes first; 0 never goes.
        var dropOrder = 0
    }

    /// A cell's text and style.
    typealias Cell = (text: String, style: TextStyle)

    let width: Int
    /// The columns shown, as indices into the full list, with their widths.
    private(set) var shown: [(index: Int, width: Int)] = []
    private let columns: [Column]

    init(_ columns: [Column], width: Int) {
        self.columns = columns
        self.width = width
        var kept = Array(columns.indices)
        func needed(_ kept: [Int]) -> Int { 1 + kept.reduce(0) { $0 + columns[$1].width + 1 } }
        while needed(kept) > width,
              let drop = kept.filter({ columns[$0].dropOrder > 0 }).max(by: { columns[$0].dropOrder < columns[$1].dropOrder }) {
            kept.removeAll { $0 == drop }
        }
        let spare = max(0, width - needed(kept))
        shown = kept.map { ($0, columns[$0].width + (columns[$0].flexible ? spare : 0)) }
    }

    var header: Line {
        row(columns.map { ($0.title, TextStyle.plain) }, style: TextStyle(bold: true, dim: true))
    }

    /// One row; `cells` lists a cell for every column, shown or not.
    func row(_ cells: [Cell], style: TextStyle? = nil, lead: Span = Span(" ")) -> Line {
        var spans = [lead]
        for (n, column) in shown.enumerated() {
            let cell = cells.indices.contains(column.index) ? cells[column.index] : ("", .plain)
            let text = columns[column.index].rightAligned ? DisplayWidth.padLeft(cell.text, column.width)
                                                           : DisplayWidth.pad(cell.text, column.width)
            spans.append(Span(text, style ?? cell.style))
            if n < shown.count - 1 { spans.append(Span(" ", style ?? .plain)) }
        }
        return Line(spans)
    }

    /// Whether the column titled `title` is on screen (for tests).
    func shows(_ title: String) -> Bool { shown.contains { columns[$0.index].title == title } }
}

/// The Jobs pane: id, state, runs, priority, age or next run, command.
struct JobColumns {
    let table: Table

    init(width: Int) {
        table = Table([
            .init(title: "ID", width: min(26, max(10, width / 5))),
            .init(title: "STATE", width: 10),
            .init(title: "RUNS", width: 5, dropOrder: 2),
            .init(title: "PRI", width: 3, rightAligned: true, dropOrder: 3),
            .init(title: "AGE/NEXT", width: 8, dropOrder: 1),
            .init(title: "COMMAND", width: 10, flexible: true),
        ], width: width)
    }

    var header: Line { table.header }

    /// A marked job's id is shown after a dot (● ID).
    func row(_ job: Job, marked: Bool = false, now: Timestamp) -> Line {
        let when: String
        switch job.state {
        case .pending, .failed, .scheduled:
            when = job.runAt > now ? "in " + MonitorViewModel.duration(job.runAt.seconds(since: now))
                                   : MonitorViewModel.duration(now.seconds(since: job.createdAt))
        default:
            when = MonitorViewModel.duration(now.seconds(since: job.updatedAt))
        }
        return table.row([
            (marked ? "● " + job.id : job.id, marked ? TextStyle(color: .yellow, bold: true) : .plain),
            (job.state.rawValue, TextStyle(color: job.state.color)),
            ("\(job.attempts)/\(job.maxRetries + 1)", .plain),
            (String(job.priority), .plain),
            (when, .plain),
            (job.command, .plain),
        ])
    }
}

/// The DLQ pane: mark, id, runs, died, last error.
struct DeadColumns {
    let table: Table

    init(width: Int) {
        table = Table([
            .init(title: "ID", width: min(26, max(10, width / 5))),
            .init(title: "RUNS", width: 4, rightAligned: true, dropOrder: 2),
            .init(title: "DIED", width: 9, dropOrder: 1),
            .init(title: "LAST ERROR", width: 12, flexible: true),
        ], width: width - 2)
    }

    var header: Line {
        var line = table.header
        line.spans.insert(Span("  "), at: 0)
        return line
    }

    func row(_ job: Job, marked: Bool, now: Timestamp) -> Line {
        table.row([
            (job.id, .plain),
            (String(job.attempts), .plain),
            (MonitorViewModel.duration(now.seconds(since: job.updatedAt)) + " ago", .plain),
            (job.lastError ?? "-", TextStyle(color: .red)),
        ], lead: Span(marked ? " ● " : "   ", TextStyle(color: .yellow, bold: true)))
    }
}

/// The Workers pane: id, pid, state, current job, time on it, jobs done, heartbeat age.
struct WorkerColumns {
    let table: Table

    init(width: Int) {
        table = Table([
            .init(title: "ID", width: 12),
            .init(title: "PID", width: 7, rightAligned: true, dropOrder: 4),
            .init(title: "STATE", width: 8),
            .init(title: "JOB", width: 14, flexible: true),
            .init(title: "ON JOB", width: 6, rightAligned: true, dropOrder: 1),
            .init(title: "DONE", width: 5, rightAligned: true, dropOrder: 3),
            .init(title: "BEAT", width: 5, rightAligned: true, dropOrder: 2),
            .init(title: "QUEUES", width: 8, dropOrder: 5),
        ], width: width)
    }

    var header: Line { table.header }

    func row(_ w: WorkerRecord, now: Timestamp) -> Line {
        let color: StateColor = w.state == .busy ? .blue : (w.state == .idle ? .green : .yellow)
        return table.row([
            (w.id, .plain),
            (String(w.pid), .plain),
            (w.state.rawValue, TextStyle(color: color)),
            (w.jobID ?? "-", .plain),
            (w.jobStartedAt.map { MonitorViewModel.duration(now.seconds(since: $0)) } ?? "-", .plain),
            (String(w.jobsDone), .plain),
            (MonitorViewModel.duration(now.seconds(since: w.heartbeatAt)), .plain),
            (w.queuesText, .plain),
        ])
    }
}

/// The Queues pane: name, open or paused, due jobs waiting, running/limit, latency.
struct QueueColumns {
    let table: Table

    init(width: Int) {
        table = Table([
            .init(title: "QUEUE", width: 12, flexible: true),
            .init(title: "STATUS", width: 6),
            .init(title: "PENDING", width: 7, rightAligned: true),
            .init(title: "RUN/LIM", width: 7, rightAligned: true),
            .init(title: "LATENCY", width: 7, rightAligned: true, dropOrder: 1),
            .init(title: "SCHED", width: 5, rightAligned: true, dropOrder: 2),
        ], width: width)
    }

    var header: Line { table.header }

    func row(_ q: QueueSummary, now: Timestamp) -> Line {
        table.row([
            (q.name, .plain),
            (q.paused ? "paused" : "open", q.paused ? TextStyle(color: .yellow, bold: true) : .plain),
            (String(q.counts[.pending]), .plain),
            ("\(q.running)/\(q.concurrency.map(String.init) ?? "-")", .plain),
            (MonitorViewModel.duration(q.latency(now: now)), .plain),
            (String(q.counts[.scheduled]), .plain),
        ])
    }
}
