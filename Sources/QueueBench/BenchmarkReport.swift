import QueueCore

/// One figure of the benchmark, with the target it is held to (if any).
public struct Measurement: Sendable {
    public var key: String
    public var label: String
    public var value: Double
    public var unit: String
    /// Human statement of the target, e.g. "≤ 50 µs".
    public var target: String?
    public var met: Bool?

    public init(_ key: String, _ label: String, _ value: Double, _ unit: String, target: String? = nil, met: Bool? = nil) {
        self.key = key
        self.label = label
        self.value = value
        self.unit = unit
        self.target = target
        self.met = met
    }

    var formatted: String {
        let number: String
        if value >= 1000 { number = String(Int(value.rounded())) }
        else if value >= 10 { number = String(format: "%.1f", value) }
        else { number = String(format: "%.2f", value) }
        return "\(number) \(unit)"
    }
}

/// Everything one `queuectl bench` run measured, with the machine it ran on.
public struct BenchmarkReport: Sendable {
    public var machine: String
    public var sqlite: String
    public var durability: String
    public var jobs: Int
    public var workers: Int
    public var measurements: [Measurement] = []
    /// Which store was measured: "sqlite" or "postgresql".
    public var store = "sqlite"

    public var json: JSONValue {
        .object([
            ("store", .string(store)),
            ("machine", .string(machine)),
            ("sqlite", .string(sqlite)),
            ("durability", .string(durability)),
            ("jobs", .int(jobs)),
            ("workers", .int(workers)),
            ("results", .object(measurements.map { m in
                (m.key, .object([
                    ("value", .double((m.value * 1000).rounded() / 1000)),
                    ("unit", .string(m.unit)),
                    ("target", .optional(m.target)),
                    ("met", m.met.map(JSONValue.bool) ?? .null),
                ]))
            })),
        ])
    }

    public var table: String {
        var lines = [
            "machine     \(machine)",
            "store       \(sqlite)",
            "durability  \(durability)",
            "",
        ]
        let width = max(10, measurements.map(\.label.count).max() ?? 10)
        let valueWidth = max(10, measurements.map(\.formatted.count).max() ?? 10)
        lines.append("METRIC".padding(toLength: width, withPad: " ", startingAt: 0) + "  " +
                     "VALUE".padding(toLength: valueWidth, withPad: " ", startingAt: 0) + "  TARGET")
        for m in measurements {
            let mark = m.met.map { $0 ? "  ok" : "  MISSED" } ?? ""
            lines.append(m.label.padding(toLength: width, withPad: " ", startingAt: 0) + "  " +
                         m.formatted.padding(toLength: valueWidth, withPad: " ", startingAt: 0) + "  " + (m.target ?? "") + mark)
        }
        return lines.joined(separator: "\n")
    }
}

extension BenchmarkReport {
    /// Two runs of the bench (SQLite, then PostgreSQL) in one table, a column
    /// each, so the stores compare on the same machine in the same minutes.
    public static func sideBySide(_ reports: [BenchmarkReport]) -> String {
        guard let first = reports.first else { return "" }
        var lines = ["machine     \(first.machine)"]
        for report in reports { lines.append(report.store.padding(toLength: 12, withPad: " ", startingAt: 0) + report.sqlite + "; " + report.durability) }
        lines.append("")
        var keys: [String] = []
        var labels: [String: String] = [:]
        for report in reports {
            for m in report.measurements where labels[m.key] == nil {
                keys.append(m.key)
                labels[m.key] = m.label
            }
        }
        func cell(_ report: BenchmarkReport, _ key: String) -> String {
            guard let m = report.measurements.first(where: { $0.key == key }) else { return "-" }
            let target = m.target.map { " (\($0)\(m.met == false ? " MISSED" : ""))" } ?? ""
            return m.formatted + target
        }
        let width = max(10, labels.values.map(\.count).max() ?? 10)
        let columns = reports.map { report in max(report.store.count, keys.map { cell(report, $0).count }.max() ?? 0) }
        lines.append("METRIC".padding(toLength: width, withPad: " ", startingAt: 0) + zip(reports, columns).map { report, w in
            "  " + report.store.uppercased().padding(toLength: w, withPad: " ", startingAt: 0)
        }.joined())
        for key in keys {
            lines.append((labels[key] ?? key).padding(toLength: width, withPad: " ", startingAt: 0) + zip(reports, columns).map { report, w in
                "  " + cell(report, key).padding(toLength: w, withPad: " ", startingAt: 0)
            }.joined())
        }
        return lines.joined(separator: "\n")
    }
}
