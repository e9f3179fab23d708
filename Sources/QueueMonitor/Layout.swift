/// A rectangle of terminal cells.
public struct Rect: Equatable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int
}

/// Where the header, the panes and the footer go at a terminal size. Wide
/// terminals show all four panes; narrow ones show the focused pane alone, under
/// a row of pane tabs.
public struct Layout: Equatable, Sendable {
    public static let minimumWidth = 50
    public static let minimumHeight = 12
    /// Below this width (or height) one pane is shown at a time.
    public static let splitWidth = 100
    public static let splitHeight = 24
    public static let headerHeight = 3
    public static let footerHeight = 2

    public var width: Int
    public var height: Int
    public var focus: Pane

    public var tooSmall: Bool { width < Self.minimumWidth || height < Self.minimumHeight }
    public var single: Bool { width < Self.splitWidth || height < Self.splitHeight }

    /// The body between header and footer.
    public var body: Rect {
        Rect(x: 0, y: Self.headerHeight, width: width, height: max(0, height - Self.headerHeight - Self.footerHeight))
    }

    /// Each visible pane's rectangle (title row included).
    public var panes: [Pane: Rect] {
        guard !tooSmall else { return [:] }
        let b = body
        if single {
            return [focus: Rect(x: 0, y: b.y + 1, width: width, height: max(0, b.height - 1))]
        }
        let leftWidth = width * 58 / 100
        let rightWidth = width - leftWidth - 1
        let jobsHeight = b.height * 60 / 100
        let workersHeight = b.height * 40 / 100
        // Queues share the DLQ's column: few rows, read at a glance.
        let dlqHeight = (b.height - jobsHeight) / 2
        return [
            .jobs: Rect(x: 0, y: b.y, width: leftWidth, height: jobsHeight),
            .dlq: Rect(x: 0, y: b.y + jobsHeight, width: leftWidth, height: dlqHeight),
            .queues: Rect(x: 0, y: b.y + jobsHeight + dlqHeight, width: leftWidth, height: b.height - jobsHeight - dlqHeight),
            .workers: Rect(x: leftWidth + 1, y: b.y, width: rightWidth, height: workersHeight),
            .log: Rect(x: leftWidth + 1, y: b.y + workersHeight, width: rightWidth, height: b.height - workersHeight),
        ]
    }

    /// Lines of text an overlay box shows at a terminal height (frame and hint
    /// row excluded).
    public static func overlayCapacity(height: Int) -> Int { max(1, height - 5) }

    /// Data rows a pane has room for (title and column header excluded). A pane
    /// that is not on screen still gets a small page, so its keys keep working.
    public func rows(for pane: Pane) -> Int {
        guard let rect = panes[pane] else { return 5 }
        return max(1, rect.height - (pane == .log ? 1 : 2))
    }
}
