import ArgumentParser
import QueueCore

/// A flag that takes a time span: seconds (`30`, `0.5`) or `90s`, `5m`, `1h`, `2d`
/// (``DurationText``), so every duration flag reads the same.
struct DurationArgument: ExpressibleByArgument, Sendable {
    var seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
    }

    init?(argument: String) {
        guard let seconds = DurationText.seconds(argument) else { return nil }
        self.seconds = seconds
    }

    var defaultValueDescription: String { DurationText.exact(seconds) }
}
