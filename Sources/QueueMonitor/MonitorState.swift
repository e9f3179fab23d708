import QueueCore

/// Something the console must do outside its own state: act on the queue.
public enum MonitorEffect: Equatable, Sendable {
    case retry([String])
    /// Retry this many dead jobs (the whole DLQ, as confirmed).
    case retryAllDead(Int)
    case startWorker
    case stopWorker(String)
    case stopAllWorkers
    case pauseQueue(String)
    case resumeQueue(String)
    /// nil: no limit.
    case setQueueLimit(String, Int?)
    case cancel([String])
    case runNow([String])
    case requeue([String])
}

/// A question the console waits for y/N on (No by default).
public enum Confirmation: Equatable, Sendable {
    /// "job ID" for one, "N jobs" for more.
    static func jobs(_ ids: [String]) -> String { ids.count == 1 ? "job \(ids[0])" : "\(ids.count) jobs" }

    case retry([String])
    case retryAllDead(Int)
    case stopAllWorkers(Int)
    case cancel([String])
    case runNow([String])
    case requeue([String])

    var question: String {
        switch self {
        case let .retry(ids): return "Retry \(ids.count) marked job\(ids.count == 1 ? "" : "s")? [y/N]"
        case let .retryAllDead(n): return "Retry all \(n) dead job\(n == 1 ? "" : "s")? [y/N]"
        case let .stopAllWorkers(n): return "Stop all \(n) worker\(n == 1 ? "" : "s") gracefully? [y/N]"
        case let .cancel(ids): return "Cancel \(Self.jobs(ids))? [y/N]"
        case let .runNow(ids): return "Run \(Self.jobs(ids)) now? [y/N]"
        case let .requeue(ids): return "Requeue \(Self.jobs(ids)) as new job\(ids.count == 1 ? "" : "s")? [y/N]"
        }
    }
}

/// What covers the panes.
public enum Overlay: Equatable, Sendable {
    case none
    case help
    case detail(String)
}

/// The console's own state: focus, cursors, filters, overlays. Pure: keys go in
/// through ``handle(_:snapshot:)``, effects on the queue come out.
public struct MonitorState: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var focus: Pane = .jobs {
        didSet { if focus != .log { logSource = focus } }
    }
    /// The list pane the log tail follows (the last one focused).
    public var logSource: Pane = .jobs
    /// Jobs pane state tab: nil shows every state.
    public var stateTab: JobState?
    public var filters: [Pane: String] = [:]
    /// Text being typed after `/`, for the focused pane.
    public var editingFilter: String?
    /// The queue whose limit is being typed after `L`, and the digits so far.
    public var limitQueue: String?
    public var editingLimit: String?
    public var cursors: [Pane: ListCursor] = [:]
    public var marked: Set<String> = []
    /// Jobs marked on the Jobs pane (for c, n, R).
    public var markedJobs: Set<String> = []
    public var overlay: Overlay = .none
    public var confirmation: Confirmation?
    public var paused = false
    public var readonly: Bool
    /// Lines scrolled up from the end of the log (0: following).
    public var logScroll = 0
    /// First line of the overlay on screen.
    public var overlayScroll = 0
    public var flash: String?
    public var quit = false

    public init(width: Int, height: Int, readonly: Bool = false) {
        self.width = width
        self.height = height
        self.readonly = readonly
    }

    public static let stateTabs: [JobState?] = [nil] + JobState.allCases.map { Optional($0) }

    public func cursor(_ pane: Pane) -> ListCursor { cursors[pane] ?? ListCursor() }
    public func filter(_ pane: Pane) -> String { filters[pane] ?? "" }

    /// Handles one key; returns what must be done to the queue.
    public mutating func handle(_ key: Key, snapshot: MonitorSnapshot) -> [MonitorEffect] {
        if key == .ctrlC { quit = true; return [] }
        if key == .resize { return [] }
        if let pending = confirmation {
            confirmation = nil
            guard key == .char("y") || key == .char("Y") else { flash = "cancelled"; return [] }
            switch pending {
            case let .retry(ids): marked.subtract(ids); return [.retry(ids)]
            case let .retryAllDead(n): marked.removeAll(); return [.retryAllDead(n)]
            case .stopAllWorkers: return [.stopAllWorkers]
            case let .cancel(ids): markedJobs.subtract(ids); return [.cancel(ids)]
            case let .runNow(ids): markedJobs.subtract(ids); return [.runNow(ids)]
            case let .requeue(ids): markedJobs.subtract(ids); return [.requeue(ids)]
            }
        }
        if editingFilter != nil { return editFilter(key) }
        if editingLimit != nil { return editLimit(key) }
        guard let action = KeyTable.action(for: key, in: focus, readonly: readonly) else {
            // A key that would change something: say why it does nothing.
            if readonly, KeyTable.action(for: key, in: focus, readonly: false) != nil {
                flash = "read-only (--readonly): this key would change the queue or its workers"
            }
            return []
        }
        if overlay != .none { return overlayKey(action, snapshot: snapshot) }
        return perform(action, snapshot: snapshot)
    }

    /// Keys while an overlay is open: movement scrolls it, Esc, ? and Enter close
    /// it, q still quits; everything else waits until it is closed.
    private mutating func overlayKey(_ action: KeyAction, snapshot: MonitorSnapshot) -> [MonitorEffect] {
        let page = max(1, Layout.overlayCapacity(height: height) - 1)
        let last = max(0, MonitorViewModel(snapshot: snapshot, state: self, now: snapshot.fetchedAt).overlayLines().count
                          - Layout.overlayCapacity(height: height))
        switch action {
        case .quit: quit = true
        case .escape, .help, .detail: overlay = .none
        case .up: overlayScroll -= 1
        case .down: overlayScroll += 1
        case .pageUp: overlayScroll -= page
        case .pageDown: overlayScroll += page
        case .top: overlayScroll = 0
        case .bottom: overlayScroll = last
        default: break
        }
        overlayScroll = max(0, min(overlayScroll, last))
        return []
    }

    private mutating func editLimit(_ key: Key) -> [MonitorEffect] {
        switch key {
        case .escape:
            editingLimit = nil
            flash = "limit unchanged"
        case .enter:
            let limit = Int(editingLimit ?? "") ?? 0
            editingLimit = nil
            if let queue = limitQueue { return [.setQueueLimit(queue, limit > 0 ? limit : nil)] }
        case .backspace:
            if editingLimit?.isEmpty == false { editingLimit?.removeLast() }
        case let .char(c) where c.isASCII && c.isNumber && (editingLimit?.count ?? 0) < 7:
            editingLimit?.append(c)
        default:
            break
        }
        return []
    }

    private mutating func editFilter(_ key: Key) -> [MonitorEffect] {
        switch key {
        case .escape:
            editingFilter = nil
            filters[focus] = nil
            resetCursor(focus)
        case .enter:
            filters[focus] = editingFilter?.isEmpty == false ? editingFilter : nil
            editingFilter = nil
            resetCursor(focus)
        case .backspace:
            if editingFilter?.isEmpty == false { editingFilter?.removeLast() }
            applyFilterAsTyped()
        case let .char(c):
            editingFilter?.append(c)
            applyFilterAsTyped()
        default:
            break
        }
        return []
    }

    private mutating func perform(_ action: KeyAction, snapshot: MonitorSnapshot) -> [MonitorEffect] {
        switch action {
        case .quit: quit = true
        case .help:
            overlay = .help
            overlayScroll = 0
        case .nextPane: focus = Pane(rawValue: (focus.rawValue + 1) % Pane.allCases.count)!
        case .previousPane: focus = Pane(rawValue: (focus.rawValue + Pane.allCases.count - 1) % Pane.allCases.count)!
        case let .focus(pane): focus = pane
        case .up: move(by: -1, snapshot: snapshot)
        case .down: move(by: 1, snapshot: snapshot)
        case .pageUp: move(by: -max(1, rows(for: focus) - 1), snapshot: snapshot)
        case .pageDown: move(by: max(1, rows(for: focus) - 1), snapshot: snapshot)
        case .top:
            if focus == .log { logScroll = maxLogScroll(snapshot) } else { move(by: -Int.max / 2, snapshot: snapshot) }
        case .bottom:
            if focus == .log { logScroll = 0 } else { move(by: Int.max / 2, snapshot: snapshot) }
        case .filter: editingFilter = filter(focus)
        case .escape:
            if filters[focus] != nil { filters[focus] = nil; resetCursor(focus) }
            else if focus == .dlq && !marked.isEmpty { marked.removeAll(); flash = "marks cleared" }
            else if focus == .jobs && !markedJobs.isEmpty { markedJobs.removeAll(); flash = "marks cleared" }
        case .detail:
            if let id = selectedJobID(snapshot: snapshot) {
                overlay = .detail(id)
                overlayScroll = 0
            } else {
                flash = "no job selected"
            }
        case .previousStateTab, .nextStateTab:
            let tabs = Self.stateTabs
            let current = tabs.firstIndex { $0 == stateTab } ?? 0
            let step = action == .nextStateTab ? 1 : tabs.count - 1
            stateTab = tabs[(current + step) % tabs.count]
            resetCursor(.jobs)
        case .retrySelected:
            guard let job = selectedDead(snapshot) else { flash = "no dead job selected"; return [] }
            marked.remove(job.id)
            return [.retry([job.id])]
        case .toggleMark where focus == .jobs:
            guard let id = selectedJobID(snapshot: snapshot) else { return [] }
            if markedJobs.contains(id) { markedJobs.remove(id) } else { markedJobs.insert(id) }
            move(by: 1, snapshot: snapshot)
        case .cancelJobs, .runNow, .requeue:
            let ids = markedJobs.isEmpty ? selectedJobID(snapshot: snapshot).map { [$0] } ?? [] : markedJobs.sorted()
            guard !ids.isEmpty else { flash = "no job selected"; return [] }
            switch action {
            case .cancelJobs: confirmation = .cancel(ids)
            case .runNow: confirmation = .runNow(ids)
            default: confirmation = .requeue(ids)
            }
        case .toggleMark:
            guard let job = selectedDead(snapshot) else { return [] }
            if marked.contains(job.id) { marked.remove(job.id) } else { marked.insert(job.id) }
            move(by: 1, snapshot: snapshot)
        case .retryMarked:
            if !marked.isEmpty {
                confirmation = .retry(marked.sorted())
            } else if snapshot.deadTotal > 0 {
                confirmation = .retryAllDead(snapshot.deadTotal)
            } else {
                flash = "the DLQ is empty"
            }
        case .addWorker:
            flash = "starting a worker…"
            return [.startWorker]
        case .removeWorker:
            // Prefer an idle worker, so no running job has to wait for the stop.
            let candidates = snapshot.workers.filter { $0.state != .stopping }
            guard let worker = candidates.first(where: { $0.state == .idle }) ?? candidates.last else {
                flash = "no running worker to stop"
                return []
            }
            flash = "stopping worker \(worker.id)…"
            return [.stopWorker(worker.id)]
        case .stopAllWorkers:
            let n = snapshot.workers.filter { $0.state != .stopping }.count
            if n == 0 { flash = "no workers running" } else { confirmation = .stopAllWorkers(n) }
        case .toggleQueuePause:
            guard let queue = selectedQueue(snapshot) else { flash = "no queue selected"; return [] }
            return [queue.paused ? .resumeQueue(queue.name) : .pauseQueue(queue.name)]
        case .setQueueLimit:
            guard let queue = selectedQueue(snapshot) else { flash = "no queue selected"; return [] }
            limitQueue = queue.name
            editingLimit = queue.concurrency.map(String.init) ?? ""
        case .pause:
            paused.toggle()
            flash = paused ? "refresh paused" : "refresh resumed"
        }
        return []
    }

    private mutating func resetCursor(_ pane: Pane) { cursors[pane] = ListCursor() }

    /// The list follows the filter as it is typed (Enter keeps it, Esc drops it).
    private mutating func applyFilterAsTyped() {
        filters[focus] = editingFilter?.isEmpty == false ? editingFilter : nil
        resetCursor(focus)
    }

    /// Rows a pane shows at the current size.
    public func rows(for pane: Pane) -> Int { Layout(width: width, height: height, focus: focus).rows(for: pane) }

    private func total(_ pane: Pane, _ snapshot: MonitorSnapshot) -> Int {
        switch pane {
        case .jobs: return snapshot.jobsTotal
        case .dlq: return snapshot.deadTotal
        case .workers: return visibleWorkers(snapshot).count
        case .log: return snapshot.log?.lines.count ?? 0
        case .queues: return snapshot.queues.count
        }
    }

    private mutating func move(by delta: Int, snapshot: MonitorSnapshot) {
        if focus == .log {
            logScroll = min(maxLogScroll(snapshot), max(0, logScroll - delta))
            return
        }
        let count = total(focus, snapshot)
        var c = cursor(focus)
        c.index = count == 0 ? 0 : min(count - 1, max(0, c.index &+ delta))
        c.selectedID = nil   // the new row's id is learned at the next fetch
        let visible = max(1, rows(for: focus))
        if c.index < c.offset { c.offset = c.index }
        if c.index >= c.offset + visible { c.offset = c.index - visible + 1 }
        cursors[focus] = c
        if focus == .workers || focus == .queues { return }
        // Within the fetched page the id is known at once.
        let page = focus == .jobs ? snapshot.jobs : snapshot.dead
        let pageStart = focus == .jobs ? snapshot.jobsOffset : snapshot.deadOffset
        if (pageStart..<(pageStart + page.count)).contains(c.index) { cursors[focus]?.selectedID = page[c.index - pageStart].id }
    }

    private func maxLogScroll(_ snapshot: MonitorSnapshot) -> Int {
        max(0, (snapshot.log?.lines.count ?? 0) - rows(for: .log))
    }

    /// What the panes need fetched now.
    public var query: MonitorQuery {
        let claimOrder = stateTab == .pending
        var detailID: String?
        if case let .detail(id) = overlay { detailID = id }
        return MonitorQuery(
            jobs: JobListQuery(state: stateTab, filter: filter(.jobs), order: claimOrder ? .claim : .newest),
            dead: JobListQuery(state: .dead, filter: filter(.dlq), order: .recentlyChanged, matchErrors: true),
            workersFilter: filter(.workers),
            cursors: [.jobs: cursor(.jobs), .dlq: cursor(.dlq), .workers: cursor(.workers), .queues: cursor(.queues)],
            rows: [.jobs: rows(for: .jobs), .dlq: rows(for: .dlq), .workers: rows(for: .workers), .queues: rows(for: .queues)],
            logSource: logSource, logFrozen: logScroll > 0, detailJobID: detailID)
    }

    /// Takes the cursors of a snapshot that answers the current query (kept on
    /// their jobs by the fetch). A snapshot for an older query (keys were pressed
    /// since) only provides data: the cursors the keys moved stay.
    public mutating func adopt(_ snapshot: MonitorSnapshot) {
        if let requested = snapshot.requested, requested == query {
            for (pane, cursor) in snapshot.cursors { cursors[pane] = cursor }
        }
        if snapshot.deadTotal == 0 { marked.removeAll() }
        logScroll = min(logScroll, maxLogScroll(snapshot))
    }

    /// Workers matching the Workers pane's filter.
    public func visibleWorkers(_ snapshot: MonitorSnapshot) -> [WorkerRecord] {
        MonitorQuery.workers(snapshot.workers, matching: filter(.workers))
    }

    /// The queue under the Queues pane's cursor.
    public func selectedQueue(_ snapshot: MonitorSnapshot) -> QueueSummary? {
        let i = cursor(.queues).index
        return snapshot.queues.indices.contains(i) ? snapshot.queues[i] : nil
    }

    private func selectedDead(_ snapshot: MonitorSnapshot) -> Job? {
        let c = cursor(.dlq)
        let i = c.index - snapshot.deadOffset
        return snapshot.dead.indices.contains(i) ? snapshot.dead[i] : nil
    }

    /// The job the focused pane points at (its current job for a worker); the log
    /// tail follows it.
    public func selectedJobID(snapshot: MonitorSnapshot) -> String? {
        switch focus {
        case .dlq:
            return selectedDead(snapshot)?.id
        case .workers:
            let workers = visibleWorkers(snapshot)
            let i = cursor(.workers).index
            return workers.indices.contains(i) ? workers[i].jobID : nil
        case .queues:
            return nil
        case .log:
            var source = self
            source.focus = logSource
            return logSource == .log ? nil : source.selectedJobID(snapshot: snapshot)
        case .jobs:
            let c = cursor(.jobs)
            let i = c.index - snapshot.jobsOffset
            return snapshot.jobs.indices.contains(i) ? snapshot.jobs[i].id : c.selectedID
        }
    }
}
