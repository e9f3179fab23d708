import Testing
@testable import QueueCore

@Suite struct TimestampTests {
    @Test func formatsISO8601WithMillisecondsAndZ() {
        #expect(Timestamp(milliseconds: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(milliseconds: 1_762_252_200_123).iso8601 == "2025-11-04T10:30:00.123Z")
    }

    @Test func parsesZoneOffsetsAndFractions() throws {
        #expect(Timestamp(iso8601: "2025-11-04T10:30:00Z")?.milliseconds == 1_762_252_200_000)
        #expect(Timestamp(iso8601: "2025-11-04T10:30:00.5Z")?.milliseconds == 1_762_252_200_500)
        #expect(Timestamp(iso8601: "2025-11-04T12:30:00+02:00")?.milliseconds == 1_762_252_200_000)
        #expect(Timestamp(iso8601: "2025-11-04 10:30:00z")?.milliseconds == 1_762_252_200_000)
    }

    @Test func rejectsTimesWithoutZoneOrImpossibleDates() {
        #expect(Timestamp(iso8601: "2025-11-04T10:30:00") == nil)
        #expect(Timestamp(iso8601: "2025-02-30T10:30:00Z") == nil)
        #expect(Timestamp(iso8601: "2025-13-01T10:30:00Z") == nil)
        #expect(Timestamp(iso8601: "tomorrow") == nil)
        #expect(Timestamp(iso8601: "2025-11-04T10:30:00Zjunk") == nil)
    }

    @Test func roundTripsThroughText() {
        for ms: Int64 in [1, 999, 86_399_999, 1_700_000_000_000, 253_402_300_799_999] {
            let t = Timestamp(milliseconds: ms)
            #expect(Timestamp(iso8601: t.iso8601) == t)
        }
    }
}
