import Foundation
import Testing
@testable import QueuePostgres

@Suite struct PostgresPasswordTests {
    let address = PostgresAddress(user: "ada", host: "db.example", port: 5432, database: "jobs")

    /// A password file in a folder of its own, with the given mode.
    func passwordFile(_ text: String, mode: mode_t = 0o600) throws -> (path: String, cleanup: () -> Void) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/pgpass"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode)
        return (path, { try? FileManager.default.removeItem(atPath: folder) })
    }

    @Test func environmentPasswordComesFirst() throws {
        let file = try passwordFile("*:*:*:*:fromfile\n")
        defer { file.cleanup() }
        #expect(PostgresPassword.lookup(for: address, environment: ["PGPASSWORD": "fromenv", "PGPASSFILE": file.path]) == "fromenv")
        #expect(PostgresPassword.lookup(for: address, environment: ["PGPASSWORD": "", "PGPASSFILE": file.path]) == "fromfile")
    }

    @Test func firstMatchingLineWins() throws {
        let file = try passwordFile("""
            # comment
            other.example:5432:jobs:ada:wronghost
            db.example:6543:jobs:ada:wrongport
            db.example:5432:other:ada:wrongdb
            db.example:5432:jobs:bob:wronguser
            db.example:5432:jobs:ada:right
            *:*:*:*:fallback
            """)
        defer { file.cleanup() }
        #expect(PostgresPassword.lookup(for: address, environment: ["PGPASSFILE": file.path]) == "right")
    }

    @Test func wildcardsAndEscapes() {
        #expect(PostgresPassword.match(in: "*:5432:*:ada:p\\:w\\\\d", host: "h", port: "5432", database: "d", user: "ada") == "p:w\\d")
        #expect(PostgresPassword.match(in: "h\\:x:*:*:*:pw", host: "h:x", port: "1", database: "d", user: "u") == "pw")
        #expect(PostgresPassword.match(in: "h:*:*:*:pw:ignored", host: "h", port: "1", database: "d", user: "u") == "pw")
        // `*` matches a whole field only, and a prefix is no match.
        #expect(PostgresPassword.match(in: "db*:*:*:*:pw", host: "db1", port: "1", database: "d", user: "u") == nil)
        #expect(PostgresPassword.match(in: "db:*:*:*:pw", host: "db1", port: "1", database: "d", user: "u") == nil)
        #expect(PostgresPassword.match(in: "h:*:*:*:", host: "h", port: "1", database: "d", user: "u") == nil)
        #expect(PostgresPassword.match(in: "h:*:*:*:pw\r\n", host: "h", port: "1", database: "d", user: "u") == "pw")
    }

    @Test func fileReadableByOthersIsSkipped() throws {
        for mode: mode_t in [0o640, 0o604, 0o660, 0o644] {
            let file = try passwordFile("*:*:*:*:pw\n", mode: mode)
            defer { file.cleanup() }
            #expect(PostgresPassword.lookup(for: address, environment: ["PGPASSFILE": file.path]) == nil, "mode \(String(mode, radix: 8))")
        }
        for mode: mode_t in [0o600, 0o400] {
            let file = try passwordFile("*:*:*:*:pw\n", mode: mode)
            defer { file.cleanup() }
            #expect(PostgresPassword.lookup(for: address, environment: ["PGPASSFILE": file.path]) == "pw", "mode \(String(mode, radix: 8))")
        }
    }

    @Test func homePgpassIsTheDefaultFile() throws {
        let file = try passwordFile("db.example:5432:jobs:ada:home\n")
        defer { file.cleanup() }
        let home = (file.path as NSString).deletingLastPathComponent
        try FileManager.default.moveItem(atPath: file.path, toPath: home + "/.pgpass")
        #expect(PostgresPassword.lookup(for: address, environment: ["HOME": home]) == "home")
    }

    @Test func defaultSocketFolderMatchesLocalhost() throws {
        let file = try passwordFile("localhost:5432:jobs:ada:local\n")
        defer { file.cleanup() }
        let socket = PostgresAddress(user: "ada", socketFolder: "/var/run/postgresql", database: "jobs")
        #expect(PostgresPassword.lookup(for: socket, environment: ["PGPASSFILE": file.path]) == "local")
        let otherSocket = PostgresAddress(user: "ada", socketFolder: "/tmp/pg", database: "jobs")
        #expect(PostgresPassword.lookup(for: otherSocket, environment: ["PGPASSFILE": file.path]) == nil)
    }
}
