import Foundation
import Testing
@testable import QueueCore

/// Next fire times against known answers: month ends, leap years, names, the day
/// rule, and daylight saving time the way cron handles it.
@Suite struct CronScheduleTests {
    private static func t(_ iso: String) -> Timestamp { Timestamp(iso8601: iso)! }

    struct Case: Sendable, CustomStringConvertible {
        var cron: String, zone: String, after: String, next: String
        var description: String { "\(cron) in \(zone) after \(after)" }
    }

    static let cases: [Case] = [
        Case(cron: "*/5 * * * *", zone: "UTC", after: "2026-01-01T00:00:00Z", next: "2026-01-01T00:05:00Z"),
        Case(cron: "*/5 * * * *", zone: "UTC", after: "2026-01-01T00:04:59Z", next: "2026-01-01T00:05:00Z"),
        Case(cron: "0 * * * *", zone: "UTC", after: "2026-12-31T23:30:00Z", next: "2027-01-01T00:00:00Z"),
        Case(cron: "@daily", zone: "UTC", after: "2026-03-01T00:00:00Z", next: "2026-03-02T00:00:00Z"),
        Case(cron: "@hourly", zone: "UTC", after: "2026-03-01T10:59:59Z", next: "2026-03-01T11:00:00Z"),
        Case(cron: "@weekly", zone: "UTC", after: "2026-12-02T12:00:00Z", next: "2026-12-06T00:00:00Z"),   // a Sunday
        Case(cron: "@yearly", zone: "UTC", after: "2026-06-15T00:00:00Z", next: "2027-01-01T00:00:00Z"),
        // Month ends: the 31st skips months without one; the 30th skips February.
        Case(cron: "0 12 31 * *", zone: "UTC", after: "2026-01-31T12:00:00Z", next: "2026-03-31T12:00:00Z"),
        Case(cron: "0 12 31 * *", zone: "UTC", after: "2026-04-01T00:00:00Z", next: "2026-05-31T12:00:00Z"),
        Case(cron: "0 0 30 * *", zone: "UTC", after: "2026-01-30T00:00:00Z", next: "2026-03-30T00:00:00Z"),
        // Leap years: Feb 29 only in 2028; and the day after Feb 28 of a leap year.
        Case(cron: "0 0 29 2 *", zone: "UTC", after: "2026-01-01T00:00:00Z", next: "2028-02-29T00:00:00Z"),
        Case(cron: "0 6 * 2 *", zone: "UTC", after: "2028-02-28T07:00:00Z", next: "2028-02-29T06:00:00Z"),
        Case(cron: "0 6 * 2 *", zone: "UTC", after: "2027-02-28T07:00:00Z", next: "2028-02-01T06:00:00Z"),
        // Names, ranges, lists, steps.
        Case(cron: "30 9 * * MON-FRI", zone: "UTC", after: "2026-12-04T10:00:00Z", next: "2026-12-07T09:30:00Z"),   // Fri → Mon
        Case(cron: "0 0 1 JAN,JUL *", zone: "UTC", after: "2026-02-01T00:00:00Z", next: "2026-07-01T00:00:00Z"),
        Case(cron: "15-45/15 8-10 * * *", zone: "UTC", after: "2026-05-05T10:45:00Z", next: "2026-05-06T08:15:00Z"),
        Case(cron: "0 0 * * 7", zone: "UTC", after: "2026-12-02T00:00:00Z", next: "2026-12-06T00:00:00Z"),      // 7 is Sunday
        // Both day fields restricted: either matches (the 13th, or a Friday).
        Case(cron: "0 0 13 * FRI", zone: "UTC", after: "2026-12-01T00:00:00Z", next: "2026-12-04T00:00:00Z"),
        Case(cron: "0 0 13 * FRI", zone: "UTC", after: "2026-12-11T00:00:00Z", next: "2026-12-13T00:00:00Z"),
        // Time zones.
        Case(cron: "0 9 * * *", zone: "Europe/Berlin", after: "2026-12-02T00:00:00Z", next: "2026-12-02T08:00:00Z"),
        Case(cron: "0 9 * * *", zone: "Europe/Berlin", after: "2026-07-02T00:00:00Z", next: "2026-07-02T07:00:00Z"),
        // DST forward (Berlin, 2026-03-29 02:00 → 03:00): 02:30 does not exist and
        // fires at 03:00; 03:30 is unaffected; */15 does not fire four times.
        Case(cron: "30 2 * * *", zone: "Europe/Berlin", after: "2026-03-28T12:00:00Z", next: "2026-03-29T01:00:00Z"),
        Case(cron: "30 2 * * *", zone: "Europe/Berlin", after: "2026-03-29T01:00:00Z", next: "2026-03-30T00:30:00Z"),
        Case(cron: "30 3 * * *", zone: "Europe/Berlin", after: "2026-03-28T12:00:00Z", next: "2026-03-29T01:30:00Z"),
        Case(cron: "*/15 * * * *", zone: "Europe/Berlin", after: "2026-03-29T00:50:00Z", next: "2026-03-29T01:00:00Z"),
        Case(cron: "*/15 * * * *", zone: "Europe/Berlin", after: "2026-03-29T01:00:00Z", next: "2026-03-29T01:15:00Z"),
        // DST back (Berlin, 2026-10-25 03:00 → 02:00): 02:30 happens twice, fires once.
        Case(cron: "30 2 * * *", zone: "Europe/Berlin", after: "2026-10-24T12:00:00Z", next: "2026-10-25T00:30:00Z"),
        Case(cron: "30 2 * * *", zone: "Europe/Berlin", after: "2026-10-25T00:30:00Z", next: "2026-10-26T01:30:00Z"),
        // New York, forward 2026-03-08 02:00 → 03:00.
        Case(cron: "0 2 * * *", zone: "America/New_York", after: "2026-03-07T12:00:00Z", next: "2026-03-08T07:00:00Z"),
    ]

    @Test(arguments: cases)
    func nextFireTime(_ c: Case) throws {
        let zone = try #require(TimeZone(identifier: c.zone))
        #expect(try CronSchedule(c.cron).next(after: Self.t(c.after), in: zone) == Self.t(c.next))
    }

    @Test func impossibleDatesNeverFire() throws {
        #expect(try CronSchedule("0 0 30 2 *").next(after: Self.t("2026-01-01T00:00:00Z"), in: TimeZone(identifier: "UTC")!) == nil)
    }

    @Test(arguments: ["", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *",
                      "5-1 * * * *", "* * * FOO *", "1,,2 * * * *", "@often", "* * * * * *"])
    func badExpressionsAreRefused(_ text: String) {
        #expect(throws: QueueError.self) { try CronSchedule(text) }
    }
}
