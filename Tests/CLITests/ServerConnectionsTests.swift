import Foundation
import Testing
import TestSupport

/// What a worker holds on a PostgreSQL server: one connection for its work and
/// one for its heartbeat, which also carries its LISTEN for wake-ups.
@Suite(.enabled(if: !TestDatabase.isFile, "needs QUEUECTL_TEST_DB=postgres://…"))
struct ServerConnectionsTests {
    /// TCP connections of process `pid` to `port`, from /proc/PID/fd and /proc/net/tcp{,6}.
    static func connections(of pid: Int32, toPort port: Int) -> Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let inodes = Set(fds.compactMap { fd -> String? in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                  target.hasPrefix("socket:[") else { return nil }
            return String(target.dropFirst(8).dropLast())
        })
        let remote = String(format: ":%04X", port)
        var count = 0
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            // Read to the end: a /proc file says size 0, and a sized read stops short.
            guard let data = FileHandle(forReadingAtPath: table)?.readDataToEndOfFile() else { continue }
            let text = String(decoding: data, as: UTF8.self)
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // local, remote, state (01: established), …, inode at index 9.
                if fields.count > 9, fields[2].hasSuffix(remote), fields[3] == "01", inodes.contains(String(fields[9])) { count += 1 }
            }
        }
        return count
    }

    @Test func aWorkerHoldsTwoConnectionsAndWakesOnNotify() throws {
        let sandbox = try QueueSandbox(name: "server-connections")
        defer { TestProcesses.kill(containing: sandbox.address); sandbox.cleanup() }
        let port = URLComponents(string: sandbox.address)?.port ?? 5432
        try sandbox.ok(["enqueue", #"{"id":"first","command":"true"}"#])
        let worker = try #require(try sandbox.startWorkers(1).first)
        try sandbox.waitForState("first", "completed")
        let held = Self.connections(of: worker.pid, toPort: port)
        #expect(held == 2, """
            a worker holds \(held) connections to the server; pid \(worker.pid) alive: \(kill(worker.pid, 0) == 0); \
            workers: \((try? sandbox.workers()).map { "\($0)" } ?? "?"); fds: \((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(worker.pid)/fd").count) ?? -1)
            """)
        // Idle now: an enqueue's NOTIFY reaches it over the heartbeat's connection.
        try sandbox.ok(["enqueue", #"{"id":"second","command":"true"}"#])
        try sandbox.waitForState("second", "completed")
        #expect(Self.connections(of: worker.pid, toPort: port) == 2)
    }
}
