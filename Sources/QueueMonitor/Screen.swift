import QueueCore

/// How a piece of text looks. The painter maps it to ncurses attributes; tests
/// read it directly.
public struct TextStyle: Equatable, Sendable {
    public var color: StateColor?
    public var bold = false
    public var reverse = false
    public var dim = false

    public init(color: StateColor? = nil, bold: Bool = false, reverse: Bool = false, dim: Bool = false) {
        self.color = color
        self.bold = bold
        self.reverse = reverse
        self.dim = dim
    }

    public static let plain = TextStyle()
}

/// A run of text in one style.
public struct Span: Equatable, Sendable {
    public var text: String
    public var style: TextStyle
    public init(_ text: String, _ style: TextStyle = .plain) {
        self.text = text
        self.style = style
    }
}

/// One screen row: spans laid left to right, at most the screen's width wide.
public struct Line: Equatable, Sendable {
    public var spans: [Span]
    public init(_ spans: [Span] = []) { self.spans = spans }
    public init(_ text: String, _ style: TextStyle = .plain) { spans = [Span(text, style)] }
    public var text: String { spans.map(\.text).joined() }
    public var width: Int { DisplayWidth.of(text) }
}

/// A whole frame: exactly `height` lines, none wider than `width` cells.
public struct Screen: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var lines: [Line]

    /// The frame as plain text, one row per line (for tests).
    public var text: String { lines.map(\.text).joined(separator: "\n") }

    public func contains(_ text: String) -> Bool { lines.contains { $0.text.contains(text) } }
}
