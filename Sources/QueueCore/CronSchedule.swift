import Foundation

/// A standard 5-field cron expression (`minute hour day-of-month month
/// day-of-week`) and the times it fires in a time zone.
///
/// Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n` (and `a/n`:
/// from a to the field's end), lists `a,b-c`, month names `JAN`–`DEC` and day
/// names `SUN`–`SAT` (0 and 7 are Sunday). As in Vixie cron, when both day
/// fields are restricted a day matches if either does. `@yearly`, `@annually`,
/// `@monthly`, `@weekly`, `@daily`, `@midnight` and `@hourly` stand for their
/// usual expressions.
///
/// Daylight saving time, as cron does it: a wall-clock time that is skipped
/// (clocks jump forward) fires once at the first minute after the jump; a time
/// that happens twice (clocks go back) fires only the first time.
public struct CronSchedule: Sendable, Equatable {
    public let expression: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    /// 0 = Sunday … 6 = Saturday.
    let daysOfWeek: Set<Int>
    let daysOfMonthRestricted: Bool
    let daysOfWeekRestricted: Bool

    static let aliases = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    public init(_ text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let expanded = Self.aliases[trimmed.lowercased()] ?? trimmed
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw QueueError.invalidInput("a cron expression has 5 fields (minute hour day month weekday) or is @hourly, @daily, …; got \(SafeText.quoted(text))")
        }
        expression = trimmed
        minutes = try Self.field(fields[0], "minute", 0...59)
        hours = try Self.field(fields[1], "hour", 0...23)
        daysOfMonth = try Self.field(fields[2], "day of month", 1...31)
        months = try Self.field(fields[3], "month", 1...12, names: Self.monthNames, firstName: 1)
        let weekdays = try Self.field(fields[4], "day of week", 0...7, names: Self.dayNames, firstName: 0)
        daysOfWeek = Set(weekdays.map { $0 % 7 })
        daysOfMonthRestricted = !fields[2].hasPrefix("*")
        daysOfWeekRestricted = !fields[4].hasPrefix("*")
    }

    private static func field(_ text: String, _ name: String, _ range: ClosedRange<Int>, names: [String] = [],
                              firstName: Int = 0) throws -> Set<Int> {
        func bad(_ why: String) -> QueueError { QueueError.invalidInput("cron \(name) field \(SafeText.quoted(text)): \(why)") }
        func value(_ token: Substring) throws -> Int {
            if let index = names.firstIndex(of: token.uppercased()) { return index + firstName }
            guard let n = Int(token), range.contains(n) else { throw bad("\(token) is not from \(range.lowerBound) to \(range.upperBound)") }
            return n
        }
        var result = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let base = parts.first, !base.isEmpty else { throw bad("\(SafeText.quoted(String(item))) is not a value, range or step") }
            var step = 1
            if parts.count == 2 {
                guard let s = Int(parts[1]), s > 0 else { throw bad("step \(parts[1]) must be a positive number") }
                step = s
            }
            var low = range.lowerBound, high = range.upperBound
            if base != "*" {
                let ends = base.split(separator: "-", omittingEmptySubsequences: false)
                guard ends.count <= 2 else { throw bad("\(base) is not a range") }
                low = try value(ends[0])
                high = ends.count == 2 ? try value(ends[1]) : (parts.count == 2 ? range.upperBound : low)
                guard low <= high else { throw bad("range \(base) runs backwards") }
            }
            result.formUnion(stride(from: low, through: high, by: step))
        }
        return result
    }

    /// Whether a wall-clock minute matches (`weekday` 0 = Sunday).
    func matches(month: Int, day: Int, weekday: Int, hour: Int, minute: Int) -> Bool {
        months.contains(month) && hours.contains(hour) && minutes.contains(minute) && dayMatches(day: day, weekday: weekday)
    }

    /// The day rule: both day fields must match, unless both are restricted (do not
    /// start with `*`), then either may.
    func dayMatches(day: Int, weekday: Int) -> Bool {
        let dom = daysOfMonth.contains(day), dow = daysOfWeek.contains(weekday)
        return daysOfMonthRestricted && daysOfWeekRestricted ? dom || dow : dom && dow
    }

    /// The first time after `time` (strictly) that this schedule fires in `zone`;
    /// nil if none within eight years (e.g. `0 0 30 2 *`).
    public func next(after time: Timestamp, in zone: TimeZone) -> Timestamp? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var m = Date(timeIntervalSince1970: (Double(time.milliseconds / 60_000) + 1) * 60)
        let end = m.addingTimeInterval(8 * 366 * 86_400)
        while m < end {
            if let fired = firesAfterJump(at: m, zone: zone) { return fired }
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: m)
            guard let year = c.year, let month = c.month, let day = c.day, let hour = c.hour, let minute = c.minute,
                  let weekday = c.weekday else { return nil }
            if !months.contains(month) {
                var first = DateComponents(year: year, month: month + 1, day: 1)
                if month == 12 { first = DateComponents(year: year + 1, month: 1, day: 1) }
                guard let next = calendar.date(from: first), next > m else { return nil }
                m = next
                continue
            }
            if !dayMatches(day: day, weekday: weekday - 1) {
                guard let tomorrow = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: m)), tomorrow > m else { return nil }
                m = tomorrow
                continue
            }
            if !hours.contains(hour) {
                m = m.addingTimeInterval(Double(60 - minute) * 60)
                continue
            }
            if minutes.contains(minute), !isRepeatedWallTime(m, zone: zone) {
                return Timestamp(milliseconds: Int64(m.timeIntervalSince1970 * 1000))
            }
            m = m.addingTimeInterval(60)
        }
        return nil
    }

    /// At the first minute after clocks jumped forward: fires there if a skipped
    /// wall-clock minute matched.
    private func firesAfterJump(at m: Date, zone: TimeZone) -> Timestamp? {
        let before = zone.secondsFromGMT(for: m.addingTimeInterval(-1)), after = zone.secondsFromGMT(for: m)
        guard after > before else { return nil }
        // Wall-clock times just before m under the new offset are the skipped ones.
        var fixed = Calendar(identifier: .gregorian)
        guard let offsetZone = TimeZone(secondsFromGMT: after) else { return nil }
        fixed.timeZone = offsetZone
        for k in 1...((after - before) / 60) {
            let c = fixed.dateComponents([.month, .day, .hour, .minute, .weekday], from: m.addingTimeInterval(Double(-60 * k)))
            if let month = c.month, let day = c.day, let hour = c.hour, let minute = c.minute, let weekday = c.weekday,
               matches(month: month, day: day, weekday: weekday - 1, hour: hour, minute: minute) {
                return Timestamp(milliseconds: Int64(m.timeIntervalSince1970 * 1000))
            }
        }
        return nil
    }

    /// Whether the wall-clock time at `m` already happened once (clocks went back).
    private func isRepeatedWallTime(_ m: Date, zone: TimeZone) -> Bool {
        guard let transition = zone.nextDaylightSavingTimeTransition(after: m.addingTimeInterval(-86_400)), transition <= m else { return false }
        let shift = zone.secondsFromGMT(for: transition.addingTimeInterval(-1)) - zone.secondsFromGMT(for: transition)
        return shift > 0 && m < transition.addingTimeInterval(Double(shift))
    }
}
