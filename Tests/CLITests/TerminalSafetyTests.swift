import Foundation
import QueueCore
import Testing
import TestSupport

/// Escape sequences in a job's command, output or id never reach the terminal from
/// human output: they are shown (␛, <U+202E>); JSON escapes them; error messages
/// quote them escaped, on one line.
@Suite struct TerminalSafetyTests {
    /// Sets the terminal's title, erases the line, an 8-bit CSI, a C1 control and a
    /// right-to-left override.
    static let hostile = "\u{1B}]0;title\u{07}\u{1B}[2K\u{9B}31m\u{85}\u{202E}"

    static func isClean(_ text: String) -> Bool {
        !text.unicodeScalars.contains { s in
            (s.value < 0x20 && s != "\n") || (0x7F..<0xA0).contains(s.value) || s == "\u{202E}"
        }
    }

    @Test func listShowAndDLQShowControlCharactersInsteadOfObeyingThem() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let job = JSONValue.object([("id", .string("evil")), ("command", .string("echo '\(Self.hostile)'; exit 1")), ("max_retries", .int(0))])
        try sandbox.ok(["enqueue", job.serialized()])
        try sandbox.startWorkers(1)
        try sandbox.waitForState("evil", "dead")
        for command in [["list"], ["show", "evil"], ["dlq", "list"], ["list", "--state", "dead"]] {
            let out = try sandbox.ok(command).stdout
            #expect(Self.isClean(out), "\(command): \(out.debugDescription)")
            #expect(out.contains("␛]0;title␇␛[2K<U+009B>31m<U+0085>"), "\(command): \(out)")
        }
    }

    /// A cell holding emoji or CJK text is padded by its width on screen (two cells
    /// per wide character), never cut: the next column starts at the same place on
    /// every row, and the whole text is shown.
    @Test func tablesLineUpAfterWideCharactersAndKeepThemWhole() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let wide = "💥 boom 漢字 💥"
        for (id, error) in [("wide", wide), ("ascii", "a plain error")] {
            let job = JSONValue.object([("id", .string(id)), ("command", .string("echo '\(error)' >&2; exit 1")),
                                        ("max_retries", .int(0))])
            try sandbox.ok(["enqueue", job.serialized()])
        }
        try sandbox.startWorkers(1)
        try sandbox.waitForState("wide", "dead")
        try sandbox.waitForState("ascii", "dead")
        let lines = try sandbox.ok(["dlq", "list"]).stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines)")
        #expect(lines.contains { $0.contains("exit code 1: \(wide)  ") }, "the error whole: \(lines)")
        // Cells on screen before the COMMAND column: the test's characters are ASCII
        // (one cell) or wide (two cells, from U+1100 on).
        func commandColumn(_ line: String) -> Int? {
            guard let start = line.range(of: "echo") ?? line.range(of: "COMMAND") else { return nil }
            return line[..<start.lowerBound].unicodeScalars.reduce(0) { $0 + ($1.value >= 0x1100 ? 2 : 1) }
        }
        let columns = Set(lines.map(commandColumn))
        #expect(columns.count == 1 && !columns.contains(nil), "\(lines)")
    }

    @Test func jsonEscapesC1ControlsAndBidiOverrides() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let job = JSONValue.object([("id", .string("evil")), ("command", .string("echo '\(Self.hostile)'"))])
        try sandbox.ok(["enqueue", job.serialized()])
        for command in [["show", "evil", "--json"], ["list", "--json"]] {
            let out = try sandbox.ok(command).stdout
            #expect(Self.isClean(out), "\(command): \(out.debugDescription)")
            #expect(out.contains(#"\u001b]0;title\u0007\u001b[2K\u009b31m\u0085\u202e"#), "\(command): \(out)")
            // Still the same command once parsed.
            let parsed = try JSONValue.parse(out)
            let command = parsed["command"] ?? parsed.arrayValue?.first?["command"]
            #expect(command?.stringValue == "echo '\(Self.hostile)'")
        }
    }

    @Test func errorMessagesQuoteInputEscapedOnOneLine() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"a","command":"true"}"#)
        let cases: [[String]] = [
            ["show", "x\u{1B}[2Ky\nz\u{202E}"],
            ["enqueue", #"{"command":"true","k\u001b]0;t\u0007\n":1}"#],
            ["logs", "\u{1B}[31mred"],
            ["config", "set", "max-retries", "5\u{1B}[2K"],
            ["config", "get", "key\u{9B}2J"],
            ["st\u{1B}[2Katus"],
        ]
        for arguments in cases {
            let result = try sandbox.run(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.hasPrefix("error: ") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr.debugDescription)")
            #expect(Self.isClean(result.stderr), "\(arguments): \(result.stderr.debugDescription)")
        }
        let show = try sandbox.run(["show", "x\u{1B}[2Ky\nz"])
        #expect(show.stderr.contains(#""x\u001b[2Ky\nz""#), "the id is quoted so it reads back exactly: \(show.stderr)")
    }

    /// `logs` prints the bytes when piped and shows them safely on a terminal
    /// (`script` gives it one), colours kept; `--raw` prints the bytes there too.
    @Test func logsAreRawWhenPipedAndSafeOnATerminal() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"out","command":"printf '\\033]0;title\\007\\033[31mred\\033[0m \\342\\200\\256x\\n'"}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState("out", "completed")
        let piped = try sandbox.ok(["logs", "out"]).stdout
        #expect(piped == "\u{1B}]0;title\u{07}\u{1B}[31mred\u{1B}[0m \u{202E}x\n")
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            Issue.record("/usr/bin/script (util-linux's bsdutils) is needed to give logs a terminal")
            return
        }
        let shell = "'\(QueueSandbox.binaryPath)' --db '\(sandbox.address)' logs out"
        let onTerminal = try QueueSandbox.exec("/usr/bin/script", ["-qec", shell, "/dev/null"], timeout: 30).stdout
        #expect(onTerminal.contains("␛]0;title␇\u{1B}[31mred\u{1B}[0m <U+202E>x"), "\(onTerminal.debugDescription)")
        let raw = try QueueSandbox.exec("/usr/bin/script", ["-qec", shell + " --raw", "/dev/null"], timeout: 30).stdout
        #expect(raw.contains("\u{1B}]0;title\u{07}"), "\(raw.debugDescription)")
    }
}
