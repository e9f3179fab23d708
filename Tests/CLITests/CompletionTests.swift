import Foundation
import QueueCore
import QueueSQLite
import Testing
import TestSupport

/// Shell completion scripts for bash, zsh and fish, job ids completed from the
/// database, and the man page kept in the repository.
@Suite struct CompletionTests {
    /// Each shell's script is generated, is valid for that shell (`-n` parses
    /// without running) and asks queuectl for job ids where a job id goes.
    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptForEachShell(shell: String) throws {
        let sandbox = try QueueSandbox()
        // A file store always: it checks that no database file is created.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let result = try sandbox.runRaw(["--generate-completion-script", shell], environment: [:])
        #expect(result.status == 0 && result.stderr.isEmpty, "\(result)")
        for call in ["---completion show -- positional@0", "---completion logs -- positional@0", "---completion dlq retry -- positional@0"] {
            #expect(result.stdout.contains(call), "\(shell) script lacks \(call)")
        }
        for key in ConfigKey.allCases {
            #expect(result.stdout.contains(key.rawValue), "\(shell) script does not complete config key \(key.rawValue)")
        }
        let script = sandbox.path("completion.\(shell)")
        try result.stdout.write(toFile: script, atomically: true, encoding: .utf8)
        let shellPath = try #require(["/usr/bin/\(shell)", "/bin/\(shell)"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                     "\(shell) is not installed (.ci/run installs it)")
        let check = try QueueSandbox.exec(shellPath, ["-n", script])
        #expect(check.status == 0, "\(shell) -n: \(check)")
        #expect(!FileManager.default.fileExists(atPath: db), "generating a script opens no database")
    }

    @Test func jobIDsAreCompletedFromTheDatabase() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        for id in ["build-1", "build-2", "deploy"] { try sandbox.enqueue(#"{"id":"\#(id)","command":"true"}"#) }
        try sandbox.enqueue(#"{"id":"broken","command":"false","max_retries":0}"#)
        try sandbox.startWorkers(1)
        try sandbox.waitForState("broken", "dead")

        #expect(try complete(sandbox, ["show"], prefix: "") == ["broken", "build-1", "build-2", "deploy"])
        #expect(try complete(sandbox, ["logs"], prefix: "bu") == ["build-1", "build-2"])
        #expect(try complete(sandbox, ["show"], prefix: "x") == [])
        #expect(try complete(sandbox, ["dlq", "retry"], prefix: "") == ["broken"], "only dead jobs")
        // `--db` on the command line being completed picks the database.
        let other = try QueueSandbox()
        defer { other.cleanup() }
        try other.enqueue(#"{"id":"elsewhere","command":"true"}"#)
        let viaOption = try sandbox.runRaw(
            ["---completion", "show", "--", "positional@0", "4", "0", "queuectl", "show", "--db", other.address, ""],
            environment: ["QUEUECTL_DB": sandbox.address])
        #expect(viaOption.lines == ["elsewhere"])
    }

    /// The generated bash script, driven the way bash drives it on Tab, offers the
    /// job ids of the database in `$QUEUECTL_DB`.
    @Test func bashOffersJobIDsOnTab() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        for id in ["alpha", "beta"] { try sandbox.enqueue(#"{"id":"\#(id)","command":"true"}"#) }
        let script = sandbox.path("queuectl.bash")
        try sandbox.runRaw(["--generate-completion-script", "bash"], environment: [:]).stdout
            .write(toFile: script, atomically: true, encoding: .utf8)
        let driver = """
            source '\(script)'
            COMP_WORDS=(queuectl show "")
            COMP_CWORD=2
            COMP_LINE="queuectl show "
            COMP_POINT=${#COMP_LINE}
            _queuectl
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let binDir = URL(fileURLWithPath: QueueSandbox.binaryPath).deletingLastPathComponent().path
        let result = try QueueSandbox.exec("/bin/bash", ["-c", driver], environment: [
            "QUEUECTL_DB": sandbox.address, "PATH": binDir + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
        ])
        #expect(result.lines.sorted() == ["alpha", "beta"], "\(result)")
    }

    /// No database, a folder that does not exist, a file that is not a database:
    /// no candidates, nothing on stderr, nothing created.
    @Test func completionIsSilentAndCreatesNothing() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it names missing and non-database files and checks nothing is created.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let notADatabase = sandbox.path("notes.txt")
        try "not sqlite".write(toFile: notADatabase, atomically: true, encoding: .utf8)
        for database in [db, sandbox.path("missing/q.db"), notADatabase] {
            let result = try sandbox.runRaw(["---completion", "show", "--", "positional@0", "2", "0", "queuectl", "show", ""],
                                            environment: ["QUEUECTL_DB": database])
            #expect(result.stdout.isEmpty && result.stderr.isEmpty, "\(database): \(result)")
        }
        #expect(!FileManager.default.fileExists(atPath: db))
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("missing")))
        #expect(try String(contentsOfFile: notADatabase, encoding: .utf8) == "not sqlite")
        // A malformed request is silent too (an error would land in the command line).
        let malformed = try sandbox.runRaw(["---completion", "show", "--"], environment: ["QUEUECTL_DB": sandbox.address])
        #expect(malformed.stdout.isEmpty && malformed.stderr.isEmpty, "\(malformed)")
    }

    /// contrib/man/queuectl.1 documents every command `queuectl --help` lists.
    /// (`scripts/generate-man.sh --check`, run by .ci/run, compares the whole page.)
    @Test func manPageListsEveryCommand() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("contrib/man/queuectl.1"), encoding: .utf8)
        let help = try sandbox.runRaw(["--help"], environment: [:]).stdout
        let section = try #require(help.components(separatedBy: "SUBCOMMANDS:").last)
        let commands = section.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first,
                  name.allSatisfy({ $0.isLowercase || $0 == "-" }) else { return nil }
            return String(name)
        }
        #expect(commands.count >= 10, "\(commands)")
        for command in commands where command != "help" {
            #expect(page.contains(".It Em \(command)\n"), "the man page lacks \(command): run scripts/generate-man.sh")
        }
    }

    private func complete(_ sandbox: QueueSandbox, _ command: [String], prefix: String) throws -> [String] {
        let words = ["queuectl"] + command + [prefix]
        let result = try sandbox.runRaw(
            ["---completion"] + command + ["--", "positional@0", String(words.count - 1), String(prefix.count)] + words,
            environment: ["QUEUECTL_DB": sandbox.address])
        #expect(result.status == 0 && result.stderr.isEmpty, "\(result)")
        return result.lines
    }
}
