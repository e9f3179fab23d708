import Foundation
import Testing
import QueueCore
import TestSupport

/// Storage faults from file permissions and a full disk under a running worker:
/// one clear line and a non-zero exit while the fault lasts, everything working
/// again (with nothing lost) once it is gone.
@Suite struct PermissionFaultTests {
    static let reads: [[String]] = [["status"], ["list"], ["show", "kept"], ["worker", "list"], ["dlq", "list"], ["stats"],
                                    ["config", "get", "max-retries"]]
    static let writes: [[String]] = [["enqueue", #"{"id":"rejected","command":"true"}"#], ["config", "set", "max-retries", "4"],
                                     ["worker", "start"]]

    @Test(.enabled(if: canDropPrivileges)) func permissionDenied() throws {
        let sandbox = try QueueSandbox(name: "denied")
        // A file store always: it is about another user's access to the database file.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.must(["enqueue", #"{"id":"kept","command":"true"}"#])
        // The database belongs to root (0600); nobody may not open it.
        for command in Self.reads + Self.writes {
            let r = try runAsNobody(["--db", db] + command)
            #expect(isCleanFailure(r), "\(command): \(r)")
            #expect(r.stderr.contains("permission denied"), "\(command): \(r.stderr)")
        }
        #expect(try sandbox.sql("select group_concat(id) from jobs") == "kept")
        #expect(try sandbox.sql("select count(*) from config") == "0")
        #expect(try sandbox.sql("select count(*) from workers") == "0")
        #expect(try sandbox.sql("pragma integrity_check") == "ok")
    }

    @Test(.enabled(if: canDropPrivileges)) func readOnlyDatabaseFileThenWritableAgain() throws {
        let sandbox = try QueueSandbox(name: "readonly-file")
        // A file store always: it makes the database file read-only.
        let db = try sandbox.requireFileStore()
        defer {
            _ = try? runAsNobody(["--db", db, "worker", "stop", "--timeout", "10"])
            sandbox.cleanup()
        }
        // Everything runs as the owner of the files, nobody: root would ignore the mode.
        #expect(chown(sandbox.directory, 65534, 65534) == 0)
        func queuectl(_ arguments: [String]) throws -> CLIResult { try runAsNobody(["--db", db] + arguments) }
        #expect(try queuectl(["enqueue", #"{"id":"kept","command":"true"}"#]).status == 0)

        #expect(chmod(db, 0o400) == 0)
        for command in Self.reads {
            let r = try queuectl(command)
            #expect(r.status == 0, "reading a read-only database: \(command): \(r)")
        }
        for command in Self.writes {
            let r = try queuectl(command)
            #expect(isCleanFailure(r), "\(command): \(r)")
            #expect(r.stderr.contains("read-only"), "\(command): \(r.stderr)")
        }

        // The fault clears: the queue works again, whatever the reads above left behind.
        #expect(chmod(db, 0o600) == 0)
        let after = try queuectl(["enqueue", #"{"id":"after","command":"true"}"#])
        #expect(after.status == 0, "writing once the database is writable again: \(after)")
        let start = try queuectl(["worker", "start"])
        #expect(start.status == 0, "\(start)")
        let bothDone = try QueueSandbox.waitUntil {
            try queuectl(["list", "--state", "completed"]).lines.filter { $0.hasPrefix("kept ") || $0.hasPrefix("after ") }.count == 2
        }
        let listed = try queuectl(["list"]).stdout
        #expect(bothDone, "\(listed)")
        #expect(try queuectl(["list", "--json"]).stdout.contains(#""rejected""#) == false)
        #expect(try queuectl(["config", "get", "max-retries"]).stdout == "3\n")
    }

    /// Output a worker cannot save (here: its logs folder not writable) is not lost
    /// without a trace: the run's history, the workers' log and `logs` say so.
    @Test(.enabled(if: canDropPrivileges)) func outputThatCannotBeSavedIsReportedLost() throws {
        let sandbox = try QueueSandbox(name: "lost-output")
        // A file store always: it makes the logs folder beside the database read-only.
        let db = try sandbox.requireFileStore()
        defer {
            _ = try? runAsNobody(["--db", db, "worker", "stop", "--timeout", "10"])
            sandbox.cleanup()
        }
        #expect(chown(sandbox.directory, 65534, 65534) == 0)
        func queuectl(_ arguments: [String]) throws -> CLIResult { try runAsNobody(["--db", db] + arguments) }
        #expect(try queuectl(["enqueue", #"{"id":"loud","command":"echo hello; echo world","delay":1}"#]).status == 0)
        #expect(try queuectl(["worker", "start"]).status == 0)
        #expect(chmod(db + "-logs", 0o500) == 0)
        #expect(try QueueSandbox.waitUntil {
            try queuectl(["show", "loud", "--json"]).stdout.contains(#""state": "completed""#)
        })
        let shown = try queuectl(["show", "loud", "--json"]).stdout
        guard case let .array(history)? = try JSONValue.parse(shown)["history"], case let .string(lost)? = history.first?["output_lost"] else {
            Issue.record("no output_lost in the history: \(shown)")
            return
        }
        #expect(lost.contains("permission denied") && lost.contains("12 of 12 bytes lost"), "\(lost)")
        let logs = try queuectl(["logs", "loud"])
        #expect(isCleanFailure(logs) && logs.stderr.contains("output not saved"), "\(logs)")
        #expect(sandbox.lines("queue.db-logs/workers.log").contains { $0.contains("job loud attempt 1: output not saved") })
        #expect(try queuectl(["show", "loud"]).stdout.contains("#1: output not saved"))
    }

    @Test(.enabled(if: canMount)) func workerSurvivesAFullDiskAndResumes() throws {
        let sandbox = try QueueSandbox(name: "full-worker")
        // A file store always: it puts the database file on a full filesystem.
        try sandbox.requireFileStore()
        let mountPoint = sandbox.directory + "/small"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(try QueueSandbox.spawnAndWait("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]).status == 0)
        let env = ["QUEUECTL_DB": mountPoint + "/queue.db"]
        func queuectl(_ arguments: [String]) throws -> CLIResult { try sandbox.runRaw(arguments, environment: env) }
        defer {
            _ = try? queuectl(["worker", "stop", "--timeout", "10"])
            _ = try? QueueSandbox.spawnAndWait("umount", ["-l", mountPoint])
            sandbox.cleanup()
        }
        #expect(try queuectl(["config", "set", "backoff-base", "1"]).status == 0)
        let started = try queuectl(["worker", "start", "--json"])
        guard case let .array(items) = try JSONValue.parse(started.stdout), case let .number(_, n?)? = items.first?["pid"] else { throw TestFailure("\(started)") }
        let pid = Int32(n)
        #expect(try queuectl(["enqueue", #"{"id":"before","command":"echo before"}"#]).status == 0)
        #expect(try QueueSandbox.waitUntil { try queuectl(["show", "before", "--json"]).stdout.contains(#""state": "completed""#) })
        // A job that becomes eligible while the disk is full.
        #expect(try queuectl(["enqueue", #"{"id":"delayed","command":"echo delayed","delay":1}"#]).status == 0)
        _ = try QueueSandbox.spawnAndWait("dd", ["if=/dev/zero", "of=\(mountPoint)/filler", "bs=4k"])
        // Whatever the queue does meanwhile, a client gets success or one clear line.
        var acceptedDuringFault: [String] = []
        for i in 0..<5 {
            let r = try queuectl(["enqueue", #"{"id":"full\#(i)","command":"echo \#(String(repeating: "x", count: 20_000))"}"#])
            if r.status == 0 { acceptedDuringFault.append("full\(i)") } else {
                #expect(isCleanFailure(r) && r.stderr.contains("disk is full"), "\(r)")
            }
        }
        usleep(2_500_000)   // let the delayed job come due and the worker hit the full disk
        #expect(isLiveProcess(pid), "the worker died on a full disk")

        unlink(mountPoint + "/filler")
        for id in ["delayed"] + acceptedDuringFault {
            #expect(try QueueSandbox.waitUntil(timeout: 20) { try queuectl(["show", id, "--json"]).stdout.contains(#""state": "completed""#) },
                    "\(id) did not complete once the disk had room again")
        }
        #expect(isLiveProcess(pid), "the worker survived the fault")
        #expect(try queuectl(["worker", "list", "--json"]).stdout.contains("\"pid\": \(pid)"), "the worker is still registered")
        #expect(try SQLiteProbe.query(mountPoint + "/queue.db", "pragma integrity_check") == "ok")
    }
}
