/// Text that came from jobs or from input, made harmless for a terminal.
///
/// A job's command, its error or an id typed by someone can hold escape sequences
/// that retitle the terminal, erase lines or move the cursor, and bidirectional
/// overrides (U+202E) that make text read differently from what it is. Every
/// place queuectl shows such text to a person goes through ``visible(_:)``, error
/// messages quote it with ``quoted(_:)``, and JSON output escapes the same
/// characters (see `JSONValue`), so one rule decides what is unsafe.
public enum SafeText {
    /// Characters that must not reach a terminal as they are: C0 controls, DEL, C1
    /// controls (U+0080–U+009F, of which U+009B starts a sequence like ESC [), the
    /// bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A–U+202E,
    /// U+2066–U+2069) and the line and paragraph separators (U+2028, U+2029).
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00..<0x20, 0x7F..<0xA0, 0x061C, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    /// Whether every character of `text` is safe (a quick check on the UTF-8 bytes
    /// first: unsafe characters start with a byte below 0x20, 0x7F, 0xC2, 0xD8 or 0xE2).
    public static func isSafe(_ text: String) -> Bool {
        var text = text
        let suspicious = text.withUTF8 { bytes in
            bytes.contains { (byte: UInt8) -> Bool in
                switch byte {
                case 0x00..<0x20, 0x7F, 0xC2, 0xD8, 0xE2: return true
                default: return false
                }
            }
        }
        return !suspicious || !text.unicodeScalars.contains(where: isUnsafe)
    }

    /// `text` on one line with every unsafe character shown instead of obeyed: a
    /// tab becomes a space, other C0 controls their Unicode control pictures (ESC is
    /// `␛`, a newline `␊`), DEL `␡`, and the rest `<U+202E>`.
    public static func visible(_ text: String) -> String {
        if isSafe(text) { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x09: out.append(" ")
            case 0x00..<0x20: out.append(Unicode.Scalar(0x2400 + scalar.value)!)
            case 0x7F: out.append("\u{2421}")
            default:
                if isUnsafe(scalar) {
                    out.append(contentsOf: "<U+\(hex(scalar.value))>".unicodeScalars)
                } else {
                    out.append(scalar)
                }
            }
        }
        return String(out)
    }

    /// `text` as a JSON string for an error message: in double quotes, on one line,
    /// with unsafe characters escaped (`\n`, `\t`, `\u001b`, `\u202e`), so what was
    /// typed can be read back exactly.
    public static func quoted(_ text: String) -> String {
        JSONValue.string(text).serialized()
    }

    /// `\u001b`: the JSON escape of a character of the Basic Multilingual Plane
    /// (every unsafe character is one).
    public static func unicodeEscape(_ scalar: Unicode.Scalar) -> String {
        "\\u" + hex(scalar.value).lowercased()
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
