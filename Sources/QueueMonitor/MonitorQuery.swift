import QueueCore

/// A cursor in a list: the selected row's position in the whole list, the first
/// row on screen, and the selected row's id (so a refresh keeps the same row even
/// when rows arrive or leave above it).
public struct ListCursor: Equatable, Sendable {
    public var index = 0
    public var offset = 0
    public var selectedID: String?

    public init(index: Int = 0, offset: Int = 0, selectedID: String? = nil) {
        self.index = index
        self.offset = offset
        self.selectedID = selectedID
    }

    /// Moves `offset` the least needed to show `index` in `rows` rows, without
    /// leaving empty rows at the end of a list of `total`.
    mutating func scrollIntoView(rows: Int, total: Int) {
        let rows = max(1, rows)
        index = total == 0 ? 0 : min(max(0, index), total - 1)
        if index < offset { offset = index }
        if index >= offset + rows { offset = index - rows + 1 }
        offset = max(0, min(offset, max(0, total - rows)))
    }
}

/// What the panes need from the store: the lists with their filters and pages,
/// the job whose output the log tail shows, the job of the detail overlay. The
/// console computes it from its state; the fetcher answers it with a snapshot.
public struct MonitorQuery: Equatable, Sendable {
    public var jobs: JobListQuery
    public var dead: JobListQuery
    public var workersFilter: String
    /// Cursors of the Jobs, DLQ and Workers lists.
    public var cursors: [Pane: ListCursor]
    /// Rows each list shows (its page size).
    public var rows: [Pane: Int]
    /// The list whose selected job the log tail follows.
    public var logSource: Pane
    /// The log tail is scrolled back: keep its lines still.
    public var logFrozen: Bool
    public var detailJobID: String?

    public init(jobs: JobListQuery, dead: JobListQuery, workersFilter: String = "", cursors: [Pane: ListCursor] = [:],
                rows: [Pane: Int] = [:], logSource: Pane = .jobs, logFrozen: Bool = false, detailJobID: String? = nil) {
        self.jobs = jobs
        self.dead = dead
        self.workersFilter = workersFilter
        self.cursors = cursors
        self.rows = rows
        self.logSource = logSource
        self.logFrozen = logFrozen
        self.detailJobID = detailJobID
    }

    public func cursor(_ pane: Pane) -> ListCursor { cursors[pane] ?? ListCursor() }
    public func rows(_ pane: Pane) -> Int { max(1, rows[pane] ?? 1) }

    /// Workers whose id, pid or current job contains `filter` (case-insensitive).
    public static func workers(_ all: [WorkerRecord], matching filter: String) -> [WorkerRecord] {
        let f = filter.lowercased()
        guard !f.isEmpty else { return all }
        return all.filter { $0.id.lowercased().contains(f) || ($0.jobID?.lowercased().contains(f) ?? false) || String($0.pid).contains(f) }
    }
}
