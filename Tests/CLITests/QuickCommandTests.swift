import Foundation
import QueueCore
import Testing
import TestSupport

/// `queuectl status` and `queuectl list` with plain long options skip the argument
/// parser for speed (`QuickCommand`). Each case runs a form both ways on the same
/// queue: as given, and forced through ArgumentParser by a trailing `--` (which the
/// short path never takes, and which ends the options of a command that has no
/// positional arguments). Output, errors and exit status must be the same.
@Suite struct QuickCommandTests {
    static let forms: [[String]] = [
        ["status"],
        ["status", "--json"],
        ["list"],
        ["list", "--json"],
        ["list", "--state", "pending", "--limit", "2"],
        ["list", "--state=pending", "--limit=2", "--offset=1"],
        ["list", "--limit", "1", "--json", "--newest"],
        ["list", "--state", "dead", "--json"],
        ["list", "--queue", "mail"],
        ["list", "--queue=mail", "--state", "pending", "--json"],
        ["list", "--tag", "t1", "--json"],
        ["list", "--schedule", "nightly"],
        ["list", "--offset", "2", "--limit", "2"],
        // Refused by validate(), the same way on both paths.
        ["list", "--limit", "0"],
        ["list", "--newest", "--queue", "mail"],
        // Not taken by the short path: ArgumentParser reports them on both.
        ["list", "--state", "bogus"],
        ["list", "--limit", "ten"],
        ["list", "--offset", "-1"],
        ["list", "--json", "--json"],
        ["list", "--state"],
        ["list", "--queue="],
        ["list", "--tag=", "--json"],
        ["list", "--schedule=", "--newest"],
        ["status", "--jsn"],
        ["status", "extra"],
    ]

    @Test func shortFormsMatchTheParsedCommand() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        // A dead job (run by a worker, which is then stopped), then waiting ones.
        try sandbox.ok(["enqueue", "--id", "doomed", "--max-retries", "0", "--command", "false"])
        _ = try sandbox.startWorkers(1)
        _ = try sandbox.waitForState("doomed", "dead")
        try sandbox.ok(["worker", "stop"])
        for (index, queue) in ["mail", "mail", "default", "mail"].enumerated() {
            try sandbox.ok(["enqueue", "--id", "j\(index)", "--queue", queue, "--tag", index.isMultiple(of: 2) ? "t1" : "t2",
                            "--command", "true"])
        }
        for form in Self.forms {
            let quick = try sandbox.run(form)
            let parsed = try sandbox.run(form + ["--"])
            #expect(quick.status == parsed.status, "\(form): \(quick) vs \(parsed)")
            #expect(quick.stderr == parsed.stderr, "\(form)")
            #expect(Self.withoutTimes(quick.stdout) == Self.withoutTimes(parsed.stdout), "\(form)")
        }
    }

    /// Output with its clock-dependent parts blanked (ages such as "3.1s ago", and
    /// the column padding that follows their width), so two runs a moment apart
    /// compare equal.
    static func withoutTimes(_ text: String) -> String {
        text.replacingOccurrences(of: #"\d+(\.\d+)?(ms|s|m|h|d) ago"#, with: "<ago>", options: .regularExpression)
            .replacingOccurrences(of: #""\d{4}-\d\d-\d\dT[0-9:.]+Z""#, with: "\"<time>\"", options: .regularExpression)
            .replacingOccurrences(of: #" +"#, with: " ", options: .regularExpression)
    }
}
