import Foundation

/// A point in time as whole milliseconds since the Unix epoch, UTC.
///
/// Stored as an integer so SQLite compares and indexes it cheaply; rendered as
/// ISO-8601 with milliseconds and `Z` (`2026-11-22T10:30:00.123Z`).
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.milliseconds < b.milliseconds }

    public func adding(seconds: Double) -> Timestamp {
        let delta = (seconds * 1000).rounded()
        guard delta.isFinite, abs(delta) < 1e15 else {
            return Timestamp(milliseconds: delta > 0 ? Timestamp.distantFuture.milliseconds : 0)
        }
        return Timestamp(milliseconds: milliseconds &+ Int64(delta))
    }

    public func seconds(since other: Timestamp) -> Double {
        Double(milliseconds - other.milliseconds) / 1000
    }

    /// Year 9999: the latest time ISO-8601 with four-digit years can express.
    public static let distantFuture = Timestamp(milliseconds: 253_402_300_799_999)

    /// `2026-11-22T10:30:00.123Z`
    public var iso8601: String {
        var seconds = time_t(milliseconds.floorDiv(1000))
        let ms = Int(milliseconds.floorMod(1000))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ms), 3))Z"
    }

    public var description: String { iso8601 }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` (a space may replace `T`).
    /// A time without a zone is rejected rather than guessed.
    public init?(iso8601 text: String) {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(45), let month = digits(2), expect(45), let day = digits(2) else { return nil }
        guard i < b.count, b[i] == 84 || b[i] == 116 || b[i] == 32 else { return nil }
        i += 1
        guard let hour = digits(2), expect(58), let minute = digits(2), expect(58), let second = digits(2) else { return nil }
        var millis = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 100
            var count = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                millis += Int(b[i] - 48) * scale
                scale /= 10
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
        }
        var offsetMinutes = 0
        guard i < b.count else { return nil }
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45 {
            let sign = b[i] == 45 ? -1 : 1
            i += 1
            guard let oh = digits(2) else { return nil }
            _ = expect(58)
            guard let om = digits(2), oh < 24, om < 60 else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        // Days from civil (proleptic Gregorian), Howard Hinnant's algorithm.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        // Reject dates like 2026-02-31 by round-tripping the day of month.
        let total = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        let candidate = Timestamp(milliseconds: total * 1000 + Int64(millis))
        let check = candidate.adding(seconds: Double(offsetMinutes * 60)).iso8601
        guard check.hasPrefix(String(format: "%04d-%02d-%02d", year, month, day)) else { return nil }
        self = candidate
    }
}

extension Timestamp {
    /// The forms ``init(typed:now:)`` accepts, for error messages.
    public static let typedForms = "ISO-8601 with a zone (2026-11-22T10:30:00Z), or local time as YYYY-MM-DD HH:MM or HH:MM (the next one)"

    /// A time as people type it: ISO-8601 with a zone (the canonical form, what
    /// `--json` prints), or in local time `YYYY-MM-DD HH:MM[:SS]` (a `T` may
    /// replace the space) or `HH:MM[:SS]`, the next such time after `now` (today's,
    /// or tomorrow's if it has passed).
    public init?(typed text: String, now: Timestamp) {
        if let exact = Timestamp(iso8601: text) {
            self = exact
            return
        }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var parts = tm()
        var date: (year: Int32, month: Int32, day: Int32)?
        var clock = Substring(trimmed)
        if trimmed.count > 10, trimmed.utf8.count == trimmed.count {
            let day = trimmed.prefix(10)
            let separator = trimmed[trimmed.index(trimmed.startIndex, offsetBy: 10)]
            let fields = day.split(separator: "-", omittingEmptySubsequences: false)
            guard separator == " " || separator == "T", fields.count == 3, fields[0].count == 4, fields[1].count == 2, fields[2].count == 2,
                  let y = Int32(fields[0]), let m = Int32(fields[1]), let d = Int32(fields[2]),
                  (1...12).contains(m), (1...31).contains(d) else { return nil }
            date = (y, m, d)
            clock = trimmed.dropFirst(11)
        }
        let fields = clock.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(fields.count), fields.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
              let hour = Int32(fields[0]), let minute = Int32(fields[1]), (0..<24).contains(hour), (0..<60).contains(minute) else { return nil }
        let second = fields.count == 3 ? Int32(fields[2]) : 0
        guard let second, (0..<60).contains(second) else { return nil }
        var nowSeconds = time_t(now.milliseconds / 1000)
        localtime_r(&nowSeconds, &parts)
        if let date {
            parts.tm_year = date.year - 1900
            parts.tm_mon = date.month - 1
            parts.tm_mday = date.day
        }
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        parts.tm_isdst = -1
        let wanted = parts
        var seconds = mktime(&parts)
        // mktime normalises 2026-02-31 to March: refuse a day that does not exist.
        guard seconds != -1, date == nil || (parts.tm_mday == wanted.tm_mday && parts.tm_mon == wanted.tm_mon) else { return nil }
        if date == nil, Int64(seconds) * 1000 <= now.milliseconds {
            var tomorrow = wanted
            tomorrow.tm_mday += 1
            tomorrow.tm_isdst = -1
            seconds = mktime(&tomorrow)
        }
        let result = Timestamp(milliseconds: Int64(seconds) * 1000)
        guard result <= Timestamp.distantFuture else { return nil }
        self = result
    }
}

extension Int64 {
    fileprivate func floorDiv(_ d: Int64) -> Int64 { self >= 0 ? self / d : (self - d + 1) / d }
    fileprivate func floorMod(_ d: Int64) -> Int64 { self - floorDiv(d) * d }
}
