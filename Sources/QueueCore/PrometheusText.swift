/// Writes the Prometheus text exposition format (version 0.0.4), as JSONValue
/// writes JSON: `# HELP` and `# TYPE` before each metric's samples, label values
/// escaped, metrics and label sets in the order they are added, so the output is
/// stable from one call to the next.
///
/// Written by hand rather than with swift-prometheus (2.4.1): that library keeps
/// in-process counters and histograms that a long-running server increments one
/// event at a time, then renders its registry. `queuectl metrics` is a one-shot
/// reader whose figures are already aggregated by the store (a histogram arrives
/// as bucket counts, which swift-prometheus' `Histogram` can only be fed as
/// individual observations, a million `record` calls for a million runs, or fake
/// values that would falsify `_sum`). It would also add swift-atomics and
/// swift-metrics to a binary kept small. The format needs only the few rules here.
public struct PrometheusText: Sendable {
    public enum MetricType: String, Sendable {
        case counter, gauge, histogram
    }

    public private(set) var text = ""

    public init() {}

    /// Starts a metric: its help line and type. Samples for it follow.
    public mutating func metric(_ name: String, _ type: MetricType, help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n"
        text += "# TYPE \(name) \(type.rawValue)\n"
    }

    /// One sample line: `name{label="value",…} value`.
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabelValue($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " \(value)\n"
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Int) {
        sample(name, labels, String(value))
    }

    /// Label values escape backslash, double quote and line feed (the format's rule).
    public static func escapeLabelValue(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Help text escapes backslash and line feed (quotes stay as they are).
    public static func escapeHelp(_ help: String) -> String {
        var escaped = ""
        for character in help {
            switch character {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Milliseconds as decimal seconds, exactly ("0.005", "1", "3600", "12.34"):
    /// no binary floating point, so bucket bounds read the same everywhere.
    public static func seconds(milliseconds: Int64) -> String {
        let sign = milliseconds < 0 ? "-" : ""
        let magnitude = milliseconds.magnitude
        let whole = magnitude / 1000
        let fraction = magnitude % 1000
        guard fraction != 0 else { return "\(sign)\(whole)" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(sign)\(whole).\(digits)"
    }
}
