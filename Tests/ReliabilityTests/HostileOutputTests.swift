import Foundation
import Testing
import QueueCore
import TestSupport

/// A job's output is hostile input too: `logs` gives it back byte for byte, and
/// nothing of it reaches a terminal through the text of `show` or `dlq list`
/// (escape sequences could retitle the window, move the cursor or worse).
@Suite struct HostileOutputTests {
    @Test func outputIsKeptExactlyButNeverPrintedRawInSummaries() throws {
        let sandbox = try QueueSandbox(name: "hostile-output")
        // A file store always: it reads the job's state and the file's integrity with SQL.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        // Invalid UTF-8, NUL, an SGR colour, an OSC window title ended by BEL, a
        // backspace and DEL on the last line, then a failing exit.
        let printed: [UInt8] = Array("first line\n".utf8) + [0xFF, 0xFE, 0x00, 0x1B] + Array("[31mRED".utf8) + [0x1B]
            + Array("]0;owned".utf8) + [0x07, 0x08, 0x7F] + Array("tail\ttab".utf8)
        let octal = printed.map { String(format: "\\%03o", $0) }.joined()
        try sandbox.must(["enqueue", JSONValue.object([
            ("id", .string("hostile")), ("max_retries", .int(0)), ("command", .string("printf '\(octal)'; exit 3")),
        ]).serialized()])
        try sandbox.must(["worker", "start"])
        #expect(try QueueSandbox.waitUntil { try sandbox.sql("select state from jobs where id = 'hostile'") == "dead" })

        /// The exact bytes `queuectl ARGS` prints on stdout.
        func rawStdout(_ arguments: [String]) throws -> Data {
            let file = sandbox.directory + "/stdout.bin"
            let r = try QueueSandbox.exec("/bin/sh", ["-c", #"out=$1; shift; exec "$@" > "$out""#, "sh", file,
                                                      QueueSandbox.binaryPath, "--db", db] + arguments)
            #expect(r.status == 0, "\(arguments): \(r)")
            return try Data(contentsOf: URL(fileURLWithPath: file))
        }
        #expect(try rawStdout(["logs", "hostile"]) == Data(printed), "logs must give the output back exactly")

        for command in [["show", "hostile"], ["dlq", "list"], ["list"], ["status"]] {
            let bytes = try rawStdout(command)
            let controls = bytes.filter { ($0 < 0x20 && $0 != 0x0A && $0 != 0x09) || $0 == 0x7F }
            #expect(controls.isEmpty, "\(command) printed control bytes \(Array(controls)) from the job's output")
        }
        let shown = try JSONValue.parse(try sandbox.must(["show", "hostile", "--json"]).stdout)
        guard case let .string(error)? = shown["last_error"] else { throw TestFailure("no last_error: \(shown.serialized())") }
        #expect(error.hasPrefix("exit code 3: "), "\(error)")
        #expect(error.hasSuffix("tail\ttab"), "the readable part of the last line is kept: \(error.debugDescription)")
        #expect(try sandbox.sql("pragma integrity_check") == "ok")
    }
}
