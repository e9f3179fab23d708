import QueueCore

/// Something the console must do outside its own state: act on the queue.
public enum MonitorEffect: Equatable, Sendable {
    case retry([String])
    case retryAllDead
    case startWorker
    case stopWorker(String)
    case stopAllWorkers
}

/// A question the console waits for y/N on (No by default).
public enum Confirmation: Equatable, Sendable {
    case retry([String])
    case retryAllDead(Int)
    case stopAllWorkers(Int)

    var question: String {
        switch self {
        case let .retry(ids): return "Retry \(ids.count) marked job\(ids.count == 1 ? "" : "s")? [y/N]"
        case let .retryAllDead(n): return "Retry all \(n) dead job\(n == 1 ? "" : "s")? [y/N]"
        case let .stopAllWorkers(n): return "Stop all \(n) worker\(n == 1 ? "" : "s") gracefully? [y/N]"
        }
    }
}

/// What covers the panes.
public enum Overlay: Equatable, Sendable {
    case none
    case help
    case detail(String)
}

/// A cursor in a list: the selected row's position in the whole list, the first
/// row on screen, and the selected row's id (so a refresh keeps the same job).
public struct ListCursor: Equatable, Sendable {
    public var index = 0
    public var offset = 0
    public var selectedID: String?
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
    public var cursors: [Pane: ListCursor] = [:]
    public var marked: Set<String> = []
    public var overlay: Overlay = .none
    public var confirmation: Confirmation?
    public var paused = false
    public var readonly: Bool
    /// Lines scrolled up from the end of the log (0: following).
    public var logScroll = 0
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
            case .retryAllDead: marked.removeAll(); return [.retryAllDead]
            case .stopAllWorkers: return [.stopAllWorkers]
            }
        }
        if editingFilter != nil { return editFilter(key) }
        if overlay != .none {
            if key == .escape || key == .char("?") || key == .char("q") || key == .enter { overlay = .none }
            return []
        }
        guard let action = KeyTable.action(for: key, in: focus, readonly: readonly) else { return [] }
        return perform(action, snapshot: snapshot)
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
        case let .char(c):
            editingFilter?.append(c)
        default:
            break
        }
        return []
    }

    private mutating func perform(_ action: KeyAction, snapshot: MonitorSnapshot) -> [MonitorEffect] {
        switch action {
        case .quit: quit = true
        case .help: overlay = .help
        case .nextPane: focus = Pane(rawValue: (focus.rawValue + 1) % Pane.allCases.count)!
        case .previousPane: focus = Pane(rawValue: (focus.rawValue + Pane.allCases.count - 1) % Pane.allCases.count)!
        case let .focus(pane): focus = pane
        case .up: move(by: -1, snapshot: snapshot)
        case .down: move(by: 1, snapshot: snapshot)
        case .pageUp: move(by: -max(1, rows(for: focus) - 1), snapshot: snapshot)
        case .pageDown: move(by: max(1, rows(for: focus) - 1), snapshot: snapshot)
        case .top:
            if focus == .log { logScroll = Int.max / 2 } else { move(by: -Int.max / 2, snapshot: snapshot) }
        case .bottom:
            if focus == .log { logScroll = 0 } else { move(by: Int.max / 2, snapshot: snapshot) }
        case .filter: editingFilter = filter(focus)
        case .escape:
            if filters[focus] != nil { filters[focus] = nil; resetCursor(focus) }
            else if focus == .dlq && !marked.isEmpty { marked.removeAll(); flash = "marks cleared" }
        case .detail:
            if let id = selectedJobID(snapshot: snapshot) { overlay = .detail(id) }
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
        case .addWorker: return [.startWorker]
        case .removeWorker:
            // Prefer an idle worker, so no running job has to wait for the stop.
            let candidates = snapshot.workers.filter { $0.state != .stopping }
            guard let worker = candidates.first(where: { $0.state == .idle }) ?? candidates.last else {
                flash = "no running worker to stop"
                return []
            }
            return [.stopWorker(worker.id)]
        case .stopAllWorkers:
            let n = snapshot.workers.filter { $0.state != .stopping }.count
            if n == 0 { flash = "no workers running" } else { confirmation = .stopAllWorkers(n) }
        case .pause:
            paused.toggle()
            flash = paused ? "refresh paused" : "refresh resumed"
        }
        return []
    }

    private mutating func resetCursor(_ pane: Pane) { cursors[pane] = ListCursor() }

    /// Rows a pane shows at the current size.
    public func rows(for pane: Pane) -> Int { Layout(width: width, height: height, focus: focus).rows(for: pane) }

    private func total(_ pane: Pane, _ snapshot: MonitorSnapshot) -> Int {
        switch pane {
        case .jobs: return snapshot.jobsTotal
        case .dlq: return snapshot.deadTotal
        case .workers: return visibleWorkers(snapshot).count
        case .log: return snapshot.log?.lines.count ?? 0
        }
    }

    private mutating func move(by delta: Int, snapshot: MonitorSnapshot) {
        if focus == .log {
            let maxScroll = max(0, (snapshot.log?.lines.count ?? 0) - rows(for: .log))
            logScroll = min(maxScroll, max(0, logScroll - delta))
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
        if focus == .workers { return }
        // Within the fetched page the id is known at once.
        let page = focus == .jobs ? snapshot.jobs : snapshot.dead
        let pageStart = focus == .jobs ? snapshot.jobsOffset : snapshot.deadOffset
        if (pageStart..<(pageStart + page.count)).contains(c.index) { cursors[focus]?.selectedID = page[c.index - pageStart].id }
    }

    /// Keeps each cursor on the same job (by id) after a refresh, and in range.
    public mutating func reconcile(with snapshot: MonitorSnapshot) {
        for (pane, page, pageStart, count) in [(Pane.jobs, snapshot.jobs, snapshot.jobsOffset, snapshot.jobsTotal),
                                               (Pane.dlq, snapshot.dead, snapshot.deadOffset, snapshot.deadTotal)] {
            var c = cursor(pane)
            if let id = c.selectedID, let i = page.firstIndex(where: { $0.id == id }) {
                c.index = pageStart + i
            }
            c.index = count == 0 ? 0 : min(c.index, count - 1)
            let visible = max(1, rows(for: pane))
            if c.index < c.offset { c.offset = c.index }
            if c.index >= c.offset + visible { c.offset = c.index - visible + 1 }
            c.offset = max(0, min(c.offset, max(0, count - visible)))
            if (pageStart..<(pageStart + page.count)).contains(c.index) { c.selectedID = page[c.index - pageStart].id }
            cursors[pane] = c
        }
        var w = cursor(.workers)
        let workers = visibleWorkers(snapshot)
        if let id = w.selectedID, let i = workers.firstIndex(where: { $0.id == id }) { w.index = i }
        w.index = workers.isEmpty ? 0 : min(w.index, workers.count - 1)
        w.selectedID = workers.isEmpty ? nil : workers[w.index].id
        let visible = max(1, rows(for: .workers))
        if w.index < w.offset { w.offset = w.index }
        if w.index >= w.offset + visible { w.offset = w.index - visible + 1 }
        cursors[.workers] = w
        if snapshot.deadTotal == 0 { marked.removeAll() }
    }

    /// Workers matching the Workers pane's filter.
    public func visibleWorkers(_ snapshot: MonitorSnapshot) -> [WorkerRecord] {
        let f = filter(.workers).lowercased()
        guard !f.isEmpty else { return snapshot.workers }
        return snapshot.workers.filter { $0.id.lowercased().contains(f) || ($0.jobID?.lowercased().contains(f) ?? false) || String($0.pid).contains(f) }
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
