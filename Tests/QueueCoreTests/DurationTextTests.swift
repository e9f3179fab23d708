import Testing
@testable import QueueCore

@Suite struct DurationTextTests {
    @Test func parsesUnitsAndBareSeconds() {
        #expect(DurationText.seconds("90s") == 90)
        #expect(DurationText.seconds("5m") == 300)
        #expect(DurationText.seconds("1.5h") == 5400)
        #expect(DurationText.seconds("2d") == 172_800)
        #expect(DurationText.seconds("1w") == 604_800)
        #expect(DurationText.seconds("250ms") == 0.25)
        #expect(DurationText.seconds("30") == 30)
        #expect(DurationText.seconds("0.5") == 0.5)
        #expect(DurationText.seconds(" 7d ") == 604_800)
    }

    @Test func rejectsWhatIsNotADuration() {
        for text in ["", "s", "-5", "-5m", "5x", "5 m", "1e3", "inf", "nan", "+5", "0x10", ".", "1..2", "5mm", "m5"] {
            #expect(DurationText.seconds(text) == nil, "\(text) should be refused")
        }
    }

    @Test func formatsWithTheLargestUnitThatReadsWell() {
        #expect(DurationText.format(0.42) == "0.4s")
        #expect(DurationText.format(42) == "42s")
        #expect(DurationText.format(90) == "90s")
        #expect(DurationText.format(300) == "5m")
        #expect(DurationText.format(3 * 3600) == "3h")
        #expect(DurationText.format(3 * 86_400) == "3d")
        #expect(DurationText.format(-1) == "0.0s")
    }

    @Test func everyFormattedDurationParsesBack() {
        for seconds in [0.0, 0.4, 9.9, 10, 119, 120, 7199, 7200, 172_799, 172_800, 1e7] {
            #expect(DurationText.seconds(DurationText.format(seconds)) != nil)
        }
    }
}
