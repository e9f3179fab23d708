import Foundation
import Testing
import TestSupport

/// Every command has help with at least one example invoking it, on stdout, exit 0,
/// and no stray line-continuation backslash.
@Suite struct HelpTests {
    static let commands: [[String]] = [
        [], ["enqueue"], ["worker"], ["worker", "start"], ["worker", "stop"], ["worker", "list"], ["status"], ["list"],
        ["show"], ["logs"], ["dlq"], ["dlq", "list"], ["dlq", "retry"], ["config"], ["config", "set"], ["config", "get"],
        ["config", "list"], ["config", "unset"], ["stats"], ["metrics"], ["version"],
        ["queue"], ["queue", "list"], ["queue", "set"], ["queue", "unset"], ["queue", "pause"], ["queue", "resume"],
        ["schedule"], ["schedule", "add"], ["schedule", "list"], ["schedule", "remove"], ["schedule", "pause"],
        ["schedule", "resume"],
    ]

    @Test(arguments: commands)
    func helpHasAnExample(_ command: [String]) throws {
        let result = try QueueSandbox.exec(QueueSandbox.binaryPath, command + ["--help"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.isEmpty)
        let example = (["queuectl"] + command).joined(separator: " ") + " "
        #expect(result.stdout.contains(example), "`\(example)…` example missing from:\n\(result.stdout)")
        // A `\\` at a line's end in a discussion literal prints a backslash instead of joining the lines.
        #expect(!result.stdout.contains("\\\n"), "a stray backslash in:\n\(result.stdout)")
    }
}
