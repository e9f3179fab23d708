import Foundation
import QueueCore

/// Output helpers: data to stdout, messages to stderr, colour only on a terminal
/// and never with NO_COLOR.
enum Terminal {
    static let useColor: Bool = {
        let env = ProcessInfo.processInfo.environment
        if env["NO_COLOR"].map({ !$0.isEmpty }) ?? false { return false }
        if env["TERM"] == "dumb" { return false }
        return isatty(STDOUT_FILENO) != 0
    }()

    /// One `error:` line; whatever the message quotes is shown, never obeyed.
    static func printError(_ message: String) {
        FileHandle.standardError.write(Data("error: \(SafeText.visible(message))\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("\(SafeText.visible(message))\n".utf8))
    }

    static func printJSON(_ value: JSONValue) {
        print(value.serialized(pretty: true))
    }

    /// Prints a JSON array one element at a time, exactly as ``printJSON(_:)`` would
    /// print it whole: `list --json` of a million jobs never holds them all.
    struct JSONArrayPrinter {
        private var count = 0

        mutating func add(_ value: JSONValue) {
            print((count == 0 ? "[\n  " : ",\n  ") + value.serialized(pretty: true, indent: 1), terminator: "")
            count += 1
        }

        func finish() {
            print(count == 0 ? "[]" : "\n]")
        }
    }

    static func colored(_ text: String, _ color: StateColor) -> String {
        useColor ? "\u{1B}[\(color.ansiCode)m\(text)\u{1B}[0m" : text
    }

    static func state(_ state: JobState, width: Int = 0) -> String {
        colored(padded(state.rawValue, to: width), state.color)
    }

    /// `text` followed by the spaces that make it `width` cells wide on screen
    /// (``DisplayWidth``: a wide character takes two), never cut.
    static func padded(_ text: String, to width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - DisplayWidth.of(text)))
    }

    /// Left-aligned columns separated by two spaces; `colorize` may wrap a cell
    /// after padding so escape codes do not upset the widths. Cells are shown with
    /// their control characters visible (``SafeText/visible(_:)``). Widths are
    /// cells on screen, so a column after an emoji or a CJK character still lines up.
    static func table(_ header: [String], _ rows: [[String]], colorize: (Int, Int, String) -> String = { _, _, s in s }) -> String {
        let rows = rows.map { $0.map(SafeText.visible) }
        var widths = header.map(DisplayWidth.of)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], DisplayWidth.of(cell)) } }
        func line(_ cells: [String], _ rowIndex: Int) -> String {
            cells.enumerated().map { i, cell in
                let padded = i == cells.count - 1 ? cell : padded(cell, to: widths[i])
                return rowIndex < 0 ? padded : colorize(rowIndex, i, padded)
            }.joined(separator: "  ")
        }
        return ([line(header, -1)] + rows.enumerated().map { line($1, $0) }).joined(separator: "\n")
    }

    /// One line, at most `max` cells wide on screen, for table cells.
    static func clip(_ text: String, _ max: Int) -> String {
        DisplayWidth.fit(text, max)
    }

    /// "3.2s ago", "in 4s", "2m ago"…
    static func relative(_ time: Timestamp, now: Timestamp = .now()) -> String {
        let seconds = now.seconds(since: time)
        let text = duration(abs(seconds))
        return seconds >= 0 ? "\(text) ago" : "in \(text)"
    }

    static func duration(_ seconds: Double) -> String { DurationText.format(seconds) }
}
