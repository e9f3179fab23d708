import Foundation
import Testing
import QueueCore
import QueueSQLite
import TestSupport

/// Broken storage under every command: one clear line, a non-zero exit, never a
/// crash, and the database intact once the fault is gone.
@Suite(.serialized) struct StorageFaultTests {
    static let commands: [[String]] = [
        ["status"], ["list"], ["enqueue", #"{"command":"true"}"#], ["config", "get", "max-retries"],
        ["config", "set", "max-retries", "4"], ["dlq", "list"], ["stats"], ["worker", "list"],
    ]

    @Test func garbageInsteadOfADatabase() throws {
        let sandbox = try QueueSandbox(name: "garbage")
        // A file store always: it writes garbage where the database file goes.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        var bytes = [UInt8](repeating: 0, count: 8192)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        try Data(bytes).write(to: URL(fileURLWithPath: db))
        for command in Self.commands {
            let r = try sandbox.run(command)
            #expect(isCleanFailure(r), "\(command): \(r)")
            #expect(r.stderr.contains("not a queuectl database"), "\(command): \(r.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == Data(bytes), "the file was left as it was")
    }

    @Test func missingFolder() throws {
        let sandbox = try QueueSandbox(name: "missing")
        // A file store always: it names a database file in a missing folder.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let path = sandbox.directory + "/no/such/folder/queue.db"
        for command in Self.commands {
            let r = try sandbox.runRaw(["--db", path] + command, environment: [:])
            #expect(isCleanFailure(r), "\(command): \(r)")
            // Reads find no database; writes may not create its folder.
            #expect(r.stderr.contains("database folder \(sandbox.directory)/no/such/folder does not exist")
                    || r.stderr.contains("no database at \(path)"), "\(command): \(r)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.directory + "/no"))
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func permissionDenied() throws {
        let sandbox = try QueueSandbox(name: "denied")
        // A file store always: it is about another user's access to the database file.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.must(["enqueue", #"{"id":"mine","command":"true"}"#])
        chmod(sandbox.directory, 0o755)   // others may look in the folder, not at the 0600 database
        for command in Self.commands {
            let r = try QueueSandbox.spawnAndWait("/usr/bin/setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups",
                                                                        QueueSandbox.binaryPath, "--db", db] + command)
            #expect(isCleanFailure(r), "\(command): \(r)")
            #expect(r.stderr.contains("permission denied"), "\(command): \(r.stderr)")
        }
        #expect(try sandbox.sql("select group_concat(id) from jobs") == "mine")
    }

    @Test func heldByALongWriteTransaction() throws {
        let sandbox = try QueueSandbox(name: "locked")
        // A file store always: it holds SQLite's write lock.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.must(["enqueue", #"{"id":"before","command":"true"}"#])
        // Another process takes the write lock and keeps it past the busy timeout.
        let holder = try LockHolder(database: db)
        usleep(300_000)
        let started = Date()
        let r = try sandbox.run(["enqueue", #"{"id":"blocked","command":"true"}"#], timeout: 60)
        #expect(isCleanFailure(r), "\(r)")
        #expect(r.stderr.contains("locked by another process"))
        #expect(Date().timeIntervalSince(started) >= 9, "it waited for the lock before giving up")
        // Reading still works while a writer holds the lock (WAL).
        #expect(try sandbox.run(["list", "--json"]).status == 0)
        holder.release()
        try sandbox.must(["enqueue", #"{"id":"after","command":"true"}"#])
        #expect(try sandbox.sql("select id from jobs order by seq") == "before\nafter")
    }

    @Test(.enabled(if: canMount)) func fullDiskThenRecovery() throws {
        let sandbox = try QueueSandbox(name: "full")
        // A file store always: it puts the database file on a full filesystem.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let mountPoint = sandbox.directory + "/small"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(try QueueSandbox.spawnAndWait("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", mountPoint]).status == 0)
        defer { _ = try? QueueSandbox.spawnAndWait("umount", ["-l", mountPoint]) }
        let db = mountPoint + "/queue.db"
        let env = ["QUEUECTL_DB": db]
        #expect(try sandbox.runRaw(["enqueue", #"{"id":"first","command":"true"}"#], environment: env).status == 0)
        // Fill the disk, then try to write.
        let filler = mountPoint + "/filler"
        _ = try QueueSandbox.spawnAndWait("dd", ["if=/dev/zero", "of=\(filler)", "bs=4k", "count=1000"])
        let big = String(repeating: "x", count: 100_000)
        var sawFull = false
        for i in 0..<20 {
            let r = try sandbox.runRaw(["enqueue", #"{"id":"j\#(i)","command":"echo \#(big)"}"#], environment: env)
            if r.status != 0 {
                #expect(isCleanFailure(r), "\(r)")
                sawFull = r.stderr.contains("disk is full") || r.stderr.contains("I/O error")
                break
            }
        }
        #expect(sawFull, "filling a 512 KiB filesystem must hit the limit")
        // Reading needs SQLite's -wal/-shm files, which may not fit: it works or fails cleanly.
        let status = try sandbox.runRaw(["status"], environment: env)
        #expect(status.status == 0 || (isCleanFailure(status) && status.stderr.contains("disk is full")), "\(status)")
        unlink(filler)
        #expect(try sandbox.runRaw(["enqueue", #"{"id":"after","command":"true"}"#], environment: env).status == 0)
        #expect(try SQLiteProbe.query(db, "pragma integrity_check") == "ok")
    }

    @Test(.enabled(if: canMount)) func readOnlyFilesystem() throws {
        let sandbox = try QueueSandbox(name: "readonly")
        // A file store always: it puts the database file on a read-only filesystem.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let mountPoint = sandbox.directory + "/ro"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(try QueueSandbox.spawnAndWait("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint]).status == 0)
        defer { _ = try? QueueSandbox.spawnAndWait("umount", ["-l", mountPoint]) }
        let env = ["QUEUECTL_DB": mountPoint + "/queue.db"]
        #expect(try sandbox.runRaw(["enqueue", #"{"id":"kept","command":"true"}"#], environment: env).status == 0)
        #expect(try QueueSandbox.spawnAndWait("mount", ["-o", "remount,ro", mountPoint]).status == 0)
        let write = try sandbox.runRaw(["enqueue", #"{"command":"true"}"#], environment: env)
        #expect(isCleanFailure(write), "\(write)")
        let start = try sandbox.runRaw(["worker", "start"], environment: env)
        #expect(isCleanFailure(start), "\(start)")
        #expect(try QueueSandbox.spawnAndWait("mount", ["-o", "remount,rw", mountPoint]).status == 0)
        let list = try sandbox.runRaw(["list", "--json"], environment: env)
        #expect(list.status == 0 && list.stdout.contains("\"kept\""), "\(list)")
    }

    @Test func workersBackOffWhileTheDatabaseIsLockedAndResume() throws {
        let sandbox = try QueueSandbox(name: "resume")
        // A file store always: it holds SQLite's write lock.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.must(["worker", "start"])
        // Enqueue first, then lock: the worker's claim and heartbeat wait on the lock.
        try sandbox.must(["enqueue", #"{"id":"waits","command":"true"}"#])
        let holder = try LockHolder(database: db)
        usleep(12_000_000)
        holder.release()
        #expect(try QueueSandbox.waitUntil(timeout: 20) { try sandbox.sql("select state from jobs where id = 'waits'") == "completed" })
        let workers = try sandbox.must(["worker", "list"]).stdout
        let log = (try? String(contentsOfFile: db + "-logs/workers.log", encoding: .utf8)) ?? ""
        // Its heartbeat could not be written for longer than the lease, so a look may
        // have released it; the process then registers again as a new worker.
        #expect(try QueueSandbox.waitUntil(timeout: 10) { try sandbox.workerPIDs().count == 1 },
                "the worker survived the fault: \(workers)\n\(log)")
    }
}
