import QueueCore

/// Cleans a command's output for a terminal cell grid: colour and cursor escape
/// sequences go (they would move the console's own cursor), a carriage return
/// keeps what was written after it (progress bars), tabs become spaces.
public enum LogText {
    public static func clean(_ line: String) -> String {
        var scalars = Array(line.unicodeScalars)
        while scalars.last == "\r" { scalars.removeLast() }
        if let cr = scalars.lastIndex(of: "\r") { scalars.removeSubrange(...cr) }
        var out = String.UnicodeScalarView()
        var column = 0
        var i = 0
        while i < scalars.count {
            let s = scalars[i]
            if s == "\u{1B}" {
                i = skipEscape(scalars, from: i)
                continue
            }
            if s == "\u{9B}" {   // 8-bit CSI
                i = skipCSI(scalars, from: i + 1)
                continue
            }
            if s == "\t" {
                let spaces = 8 - column % 8
                out.append(contentsOf: String(repeating: " ", count: spaces).unicodeScalars)
                column += spaces
            } else if s.value < 0x20 || s.value == 0x7F || (0x80..<0xA0).contains(s.value) {
                // Other control characters (backspace, bell…) are dropped.
            } else {
                out.append(s)
                column += DisplayWidth.of(s)
            }
            i += 1
        }
        return String(out)
    }

    /// Index just past the escape sequence starting at `start` (an ESC).
    private static func skipEscape(_ s: [Unicode.Scalar], from start: Int) -> Int {
        var i = start + 1
        guard i < s.count else { return i }
        switch s[i] {
        case "[":
            return skipCSI(s, from: i + 1)
        case "]", "P", "X", "^", "_":
            // OSC/DCS/SOS/PM/APC: up to BEL or ESC \.
            i += 1
            while i < s.count {
                if s[i] == "\u{7}" { return i + 1 }
                if s[i] == "\u{1B}" { return i + 1 < s.count && s[i + 1] == "\\" ? i + 2 : i + 1 }
                i += 1
            }
            return i
        default:
            // Two-character sequences, plus the intermediates of charset selection (ESC ( B).
            while i < s.count, (0x20...0x2F).contains(s[i].value) { i += 1 }
            return min(s.count, i + 1)
        }
    }

    private static func skipCSI(_ s: [Unicode.Scalar], from start: Int) -> Int {
        var i = start
        while i < s.count, (0x20...0x3F).contains(s[i].value) { i += 1 }   // parameters, intermediates
        return min(s.count, i + 1)                                          // the final byte
    }
}
