import Foundation
import Testing
import QueueCore
import QueueSQLite
import TestSupport

/// Another local user shares the database's folder (`/tmp`, `/srv/shared`) and
/// plants things beside the database: a logs folder of theirs or one open to all,
/// links where log files, `workers.log`, the doorbell or the `-wal` file go. None of
/// it makes queuectl write through a link, change a link target's mode, or write
/// job output where others can reach it. And a database deleted or replaced under
/// running workers stops them. (See "Security model" in the README.)
@Suite struct SharedFolderTests {
    /// The other user (the tests run as root, which stands for the owner).
    static let otherUser: uid_t = 65534

    private func text(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test(.enabled(if: getuid() == 0)) func aLogsFolderOfAnotherUserOrOpenToOthersIsRefused() throws {
        let sandbox = try QueueSandbox(name: "planted-logs")
        // A file store always: it plants the logs folder beside the database.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        #expect(chmod(sandbox.directory, 0o1777) == 0)
        try sandbox.must(["enqueue", #"{"id":"j","command":"echo secret output"}"#])
        let logs = db + "-logs"
        let target = sandbox.directory + "/bashrc"
        try "# mine\n".write(toFile: target, atomically: false, encoding: .utf8)
        // The other user's folder, open to all, with a link where job j's first log goes.
        #expect(mkdir(logs, 0o777) == 0 && chmod(logs, 0o777) == 0 && chown(logs, Self.otherUser, Self.otherUser) == 0)
        #expect(symlink(target, logs + "/j.1.log") == 0)
        let foreign = try sandbox.run(["worker", "start"])
        #expect(isCleanFailure(foreign) && foreign.stderr.contains("belongs to uid 65534"), "\(foreign)")

        // Ours, but others may write in it: what is in it may have been planted.
        #expect(chown(logs, 0, 0) == 0)
        let open = try sandbox.run(["worker", "start"])
        #expect(isCleanFailure(open) && open.stderr.contains("can be written by other users"), "\(open)")
        #expect(try sandbox.sql("select count(*) from runs") == "0", "no job ran while the folder was refused")

        // Ours and only readable by others (a loose umask): made private, then used.
        // The link is replaced by the log, never written through.
        #expect(chmod(logs, 0o755) == 0)
        try sandbox.must(["worker", "start"])
        #expect(try QueueSandbox.waitUntil { try sandbox.count("completed") == 1 })
        #expect(mode(logs) == 0o700)
        #expect(text(target) == "# mine\n")
        #expect(try sandbox.must(["logs", "j"]).stdout == "secret output\n")
    }

    @Test func noFileBesideTheDatabaseIsWrittenThroughALink() throws {
        let sandbox = try QueueSandbox(name: "planted-links")
        // A file store always: it plants links in place of the files beside the database.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let script = sandbox.directory + "/script.sh"
        try "#!/bin/sh\necho hi\n".write(toFile: script, atomically: false, encoding: .utf8)
        // The doorbell, rung by every enqueue: a link to a script, then a dangling link.
        #expect(symlink(script, db + "-bell") == 0)
        try sandbox.must(["enqueue", #"{"id":"a","command":"true"}"#])
        #expect(text(script) == "#!/bin/sh\necho hi\n")
        let nowhere = sandbox.directory + "/created-through-the-bell"
        #expect(unlink(db + "-bell") == 0 && symlink(nowhere, db + "-bell") == 0)
        try sandbox.must(["enqueue", #"{"id":"b","command":"true"}"#])
        #expect(!FileManager.default.fileExists(atPath: nowhere))

        // workers.log, which `worker start` appends to.
        let logs = db + "-logs"
        #expect(mkdir(logs, 0o700) == 0 && symlink(script, logs + "/workers.log") == 0)
        let start = try sandbox.run(["worker", "start"])
        #expect(isCleanFailure(start) && start.stderr.contains("workers.log is a symbolic link"), "\(start)")
        #expect(text(script) == "#!/bin/sh\necho hi\n")
    }

    @Test(.enabled(if: canDropPrivileges)) func aLinkInPlaceOfTheWALFileLeavesItsTargetsModeAlone() throws {
        let sandbox = try QueueSandbox(name: "planted-wal")
        // A file store always: it plants a link in place of the -wal file.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        // The owner is nobody here: root's writes never depend on file modes.
        #expect(chown(sandbox.directory, Self.otherUser, Self.otherUser) == 0)
        #expect(try runAsNobody(["--db", db, "enqueue", #"{"id":"a","command":"true"}"#]).status == 0)
        let secret = sandbox.directory + "/secret"
        try "key\n".write(toFile: secret, atomically: false, encoding: .utf8)
        #expect(chown(secret, Self.otherUser, Self.otherUser) == 0 && chmod(secret, 0o400) == 0)
        // Planted by another user (root here) while no process has the database open.
        #expect(symlink(secret, db + "-wal") == 0)
        for command in [["status"], ["enqueue", #"{"id":"b","command":"true"}"#]] {
            let r = try runAsNobody(["--db", db] + command)
            // SQLite refuses the link too; the error names it.
            #expect(isCleanFailure(r) && r.stderr.contains("queue.db-wal is a symbolic link"), "\(command): \(r)")
            #expect(mode(secret) == 0o400, "\(command) changed the mode of the link's target")
        }
        #expect(text(secret) == "key\n")
    }

    @Test func aWorkerStopsWhenItsDatabaseIsDeletedOrReplaced() throws {
        let sandbox = try QueueSandbox(name: "db-gone")
        // A file store always: it deletes and replaces the database file under a worker.
        let db = try sandbox.requireFileStore()
        // `worker stop` cannot reach workers of a deleted database: should one
        // survive (the failure this test looks for), it is killed here.
        var started: [Int32] = []
        defer {
            for pid in started where isLiveProcess(pid) { kill(pid, SIGKILL) }
            sandbox.cleanup()
        }
        try sandbox.must(["config", "set", "max-retries", "0"])
        let first = try #require(try sandbox.startWorkers(1).first)
        started.append(first.pid)
        for suffix in ["", "-wal", "-shm"] { unlink(db + suffix) }
        #expect(try QueueSandbox.waitUntil(timeout: 5) { !isLiveProcess(first.pid) }, "the worker kept running on a deleted database")
        #expect(sandbox.lines("queue.db-logs/workers.log").contains { $0.contains("database file \(db) was deleted") })

        // A new database, then another file moved over it (a restore).
        try sandbox.must(["enqueue", #"{"id":"a","command":"true"}"#])
        let second = try #require(try sandbox.startWorkers(1).first)
        started.append(second.pid)
        #expect(try QueueSandbox.spawnAndWait("cp", [db, db + ".restored"]).status == 0)
        #expect(rename(db + ".restored", db) == 0)
        #expect(try QueueSandbox.waitUntil(timeout: 5) { !isLiveProcess(second.pid) }, "the worker kept running on a replaced database")
        #expect(sandbox.lines("queue.db-logs/workers.log").contains { $0.contains("database file \(db) was replaced by another file") })
    }
}
