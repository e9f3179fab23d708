import QueueCore

/// Makes a job's output safe to print on a terminal, a piece at a time (for
/// `logs`): colour sequences (`ESC [ … m`), newlines, tabs and carriage returns
/// pass; every other control character, escape sequence (a title change, a line
/// erase, a cursor move), C1 control and bidi override is shown as in
/// ``SafeText/visible(_:)`` instead of obeyed. Bytes that are not UTF-8 become
/// U+FFFD. A sequence or character cut by the end of a piece waits for the next.
struct SafeOutputFilter {
    private var pending: [UInt8] = []
    /// Longest colour sequence waited for; anything longer is not one.
    private static let longestSequence = 64

    /// The safe form of `bytes`, less whatever may continue in the next piece.
    mutating func filter(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        pending.append(contentsOf: bytes)
        var out: [UInt8] = []
        out.reserveCapacity(pending.count)
        var i = 0
        let b = pending
        while i < b.count {
            let c = b[i]
            if c == 0x1B {
                switch Self.colourSequence(b, from: i) {
                case .incomplete:
                    pending = Array(b[i...])
                    return out
                case let .colour(end):
                    out.append(contentsOf: b[i..<end])
                    i = end
                case .other:
                    out.append(contentsOf: Self.visible(0x1B))
                    i += 1
                }
            } else if c == 0x0A || c == 0x09 || c == 0x0D || (c >= 0x20 && c < 0x7F) {
                out.append(c)
                i += 1
            } else if c < 0x80 {
                out.append(contentsOf: Self.visible(UInt32(c)))
                i += 1
            } else {
                let length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1
                if i + length > b.count {
                    pending = Array(b[i...])
                    return out
                }
                if length > 1, let text = String(validating: b[i..<(i + length)], as: UTF8.self),
                   let scalar = text.unicodeScalars.first {
                    if SafeText.isUnsafe(scalar) {
                        out.append(contentsOf: Self.visible(scalar.value))
                    } else {
                        out.append(contentsOf: b[i..<(i + length)])
                    }
                    i += length
                } else {
                    out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                    i += 1
                }
            }
        }
        pending = []
        return out
    }

    /// What is left at the very end (a cut sequence or character), made safe.
    mutating func finish() -> [UInt8] {
        let rest = pending
        pending = []
        return Array(SafeText.visible(String(decoding: rest, as: UTF8.self)).utf8)
    }

    private enum Found { case colour(end: Int), other, incomplete }

    /// Whether `b[start...]` (an ESC) is a colour sequence: `ESC [`, digits,
    /// `;` or `:`, then `m`.
    private static func colourSequence(_ b: [UInt8], from start: Int) -> Found {
        var i = start + 1
        guard i < b.count else { return .incomplete }
        guard b[i] == UInt8(ascii: "[") else { return .other }
        i += 1
        while i < b.count, i - start < longestSequence {
            let c = b[i]
            if c == UInt8(ascii: "m") { return .colour(end: i + 1) }
            guard (0x30...0x3B).contains(c) else { return .other }
            i += 1
        }
        return i - start >= longestSequence ? .other : .incomplete
    }

    private static func visible(_ value: UInt32) -> [UInt8] {
        Array(SafeText.visible(String(Unicode.Scalar(value)!)).utf8)
    }
}
