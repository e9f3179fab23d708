import Foundation

/// Durations as people type and read them: `90s`, `5m`, `1.5h`, `2d`, or a bare
/// number of seconds (`30`, `0.25`). One parser and one formatter for every
/// place queuectl takes or prints a duration (job fields, CLI flags, config
/// values, lists), so what one command prints another accepts.
public enum DurationText {
    /// Seconds per unit suffix.
    static let units: [(suffix: String, seconds: Double)] = [
        ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800),
    ]

    /// Parses `text` into seconds. Accepts a bare non-negative number (seconds)
    /// or a number followed by one unit (`ms`, `s`, `m`, `h`, `d`, `w`), without
    /// spaces. Returns nil for anything else (negative, empty, unknown unit,
    /// `nan`, `inf`), so callers word their own error with the field's name.
    public static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        var number = Substring(trimmed)
        var scale = 1.0
        // Longest suffix first, so "5ms" is milliseconds and not "5m" + "s".
        for unit in units.sorted(by: { $0.suffix.count > $1.suffix.count }) where trimmed.hasSuffix(unit.suffix) {
            number = trimmed.dropLast(unit.suffix.count)
            scale = unit.seconds
            break
        }
        // Digits and one optional dot only: rejects "1e3", "+5", "0x10", "inf".
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              number.filter({ $0 == "." }).count <= 1, number != ".",
              let value = Double(number), value.isFinite else { return nil }
        return value * scale
    }

    /// The exact value in the largest unit that divides it (`90s`, `5m`, `36h`,
    /// `2d`, `1.5s`), for settings and job fields where rounding would misreport
    /// what is stored. `seconds(_:)` reads it back to the same number.
    public static func exact(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "0s" }
        for (suffix, size) in [("d", 86_400.0), ("h", 3600), ("m", 60)] where seconds >= size {
            let count = seconds / size
            if count.rounded() == count { return "\(Int64(count))\(suffix)" }
        }
        if seconds.rounded() == seconds, seconds < 9e15 { return "\(Int64(seconds))s" }
        var text = String(format: "%.3f", seconds)
        while text.hasSuffix("0") { text.removeLast() }
        return text + "s"
    }

    /// A short human form: `0.4s`, `9.5s`, `42s`, `5m`, `3h`, `2d`. Below ten
    /// seconds one decimal is kept; above, the largest unit that gives at least
    /// two of it (so `90s`, not `1m`). Every result is accepted by `seconds(_:)`.
    public static func format(_ seconds: Double) -> String {
        let s = seconds.isFinite ? max(0, seconds) : 0
        if s < 10 { return String(format: "%.1fs", s) }
        if s < 120 { return "\(Int(s))s" }
        if s < 7200 { return "\(Int(s / 60))m" }
        if s < 172_800 { return "\(Int(s / 3600))h" }
        return "\(Int(s / 86400))d"
    }
}
