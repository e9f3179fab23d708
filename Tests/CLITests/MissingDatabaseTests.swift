import Foundation
import Testing
import QueueCore
import TestSupport

/// Only the commands that put something in a queue create one (enqueue, config set,
/// worker start, the monitor, queue set/pause, schedule add): a command that reads or changes an existing queue
/// says there is none (exit 3) and creates nothing, so a typo in `--db` is not
/// taken for an empty queue. A path that cannot be a database is refused.
@Suite struct MissingDatabaseTests {
    static let needExisting: [[String]] = [
        ["status"], ["list"], ["show", "x"], ["logs", "x"], ["dlq", "list"], ["dlq", "retry", "x"], ["stats"],
        ["config", "get", "max-retries"], ["config", "list"], ["config", "unset", "max-retries"],
        ["worker", "list"], ["worker", "stop"], ["metrics"],
        ["queue", "list"], ["queue", "unset", "q"], ["queue", "resume", "q"], ["queue", "resume", "--all"],
        ["schedule", "list"], ["schedule", "remove", "x"], ["schedule", "pause", "x"], ["schedule", "resume", "x"],
    ]

    private func entries(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    @Test func commandsOnAMissingDatabaseSaySoAndCreateNothing() throws {
        let sandbox = try QueueSandbox(name: "missing-db")
        // A file store always: it is about missing database files and folders (exit 3, nothing created).
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let typo = sandbox.directory + "/typo.db"
        for command in Self.needExisting {
            let r = try sandbox.runRaw(["--db", typo] + command, environment: [:])
            #expect(r.status == 3, "\(command): \(r)")
            #expect(r.stderr == "error: no database at \(typo) (enqueue a job or run `queuectl worker start` to create one)\n",
                    "\(command): \(r)")
            #expect(r.stdout.isEmpty)
            #expect(entries(sandbox.directory).isEmpty, "\(command) created \(entries(sandbox.directory))")
        }
        // The default location: its folder is not created by a look either.
        let xdg = sandbox.directory + "/xdg"
        let status = try sandbox.runRaw(["status"], environment: ["XDG_DATA_HOME": xdg])
        #expect(status.status == 3 && status.stderr.hasPrefix("error: no database at \(xdg)/queuectl/queue.db"), "\(status)")
        #expect(!FileManager.default.fileExists(atPath: xdg))
    }

    @Test func commandsThatAddToAQueueCreateIt() throws {
        let sandbox = try QueueSandbox(name: "create-db")
        // A file store always: it names new database files by path.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let viaConfig = sandbox.directory + "/config.db"
        #expect(try sandbox.runRaw(["--db", viaConfig, "config", "set", "max-retries", "5"], environment: [:]).status == 0)
        #expect(try sandbox.runRaw(["--db", viaConfig, "config", "get", "max-retries"], environment: [:]).stdout == "5\n")
        let viaEnqueue = sandbox.directory + "/enqueue.db"
        #expect(try sandbox.runRaw(["enqueue", "--db", viaEnqueue, #"{"id":"a","command":"true"}"#], environment: [:]).status == 0)
        #expect(try sandbox.runRaw(["--db", viaEnqueue, "list"], environment: [:]).stdout.contains("a "))
    }

    @Test func anEmptyPathOrOneThatIsNotAFileIsRefused() throws {
        let sandbox = try QueueSandbox(name: "not-a-db")
        // A file store always: it is about paths that cannot be a database file.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let enqueue = ["enqueue", #"{"id":"a","command":"true"}"#]
        for command in [["status"], enqueue] {
            let emptyOption = try sandbox.runRaw(command + ["--db", ""], environment: [:])
            #expect(emptyOption.status == 64 && emptyOption.stderr == "error: --db needs a path; it is empty\n", "\(emptyOption)")
            let emptyVariable = try sandbox.runRaw(command, environment: ["QUEUECTL_DB": ""])
            #expect(emptyVariable.status == 64 && emptyVariable.stderr == "error: QUEUECTL_DB is set but empty; give it a path or unset it\n",
                    "\(emptyVariable)")
        }
        let folder = sandbox.directory + "/folder"
        let fifo = sandbox.directory + "/fifo"
        #expect(mkdir(folder, 0o700) == 0 && mkfifo(fifo, 0o600) == 0)
        for (path, kind) in [(folder, "a directory"), (fifo, "a FIFO"), ("/dev/null", "a device")] {
            for command in [["status"], enqueue, ["worker", "start"]] {
                let r = try sandbox.runRaw(["--db", path] + command, environment: [:])
                #expect(r.status == 64 && r.stderr == "error: \(path) is \(kind), not a database file\n", "\(command): \(r)")
            }
        }
        #expect(entries(sandbox.directory) == ["fifo", "folder"])
        #expect(entries(folder).isEmpty)
    }
}
