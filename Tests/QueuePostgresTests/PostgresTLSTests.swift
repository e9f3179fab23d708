import Foundation
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

/// TLS against the real test server, which `scripts/postgres-test-server.sh` gives a
/// self-signed certificate for `localhost` and `127.0.0.1` (not `::1`). Every session
/// here gets a home folder of its own, so libpq's default root file
/// (`~/.postgresql/root.crt`) is what the test puts there, and the password by
/// `PGPASSWORD` (the password file names 127.0.0.1 only).
@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresTLSTests {
    /// The test server's address with one test's schema, and what a session needs.
    final class Fixture {
        let db: TestPostgres
        let base: PostgresAddress
        let password: String
        /// The server's certificate, which is its own root (self-signed).
        let serverCertificate: String
        let home: String

        init() throws {
            db = try TestPostgres()
            base = try db.parsedAddress()
            password = try #require(PostgresPassword.lookup(for: base), "no password for the test server")
            var plain = base
            plain.tlsMode = .disable
            let admin = PostgresSession(address: plain, environment: ["PGPASSWORD": password])
            defer { admin.close() }
            let ssl = try admin.query("SHOW ssl").first?.decode(String.self)
            guard ssl == "on" else {
                throw TestFailure("the test server does not offer TLS (ssl = \(ssl ?? "?")); scripts/postgres-test-server.sh turns it on")
            }
            serverCertificate = try #require(try admin.query("SHOW ssl_cert_file").first?.decode(String.self))
            guard FileManager.default.isReadableFile(atPath: serverCertificate) else {
                throw TestFailure("cannot read the test server's certificate \(serverCertificate)")
            }
            home = FileManager.default.temporaryDirectory.appendingPathComponent("qc-tls-home-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(atPath: home) }

        func address(_ mode: PostgresAddress.TLSMode, host: String = "127.0.0.1", root: String? = nil) -> PostgresAddress {
            var address = base
            address.tlsMode = mode
            address.host = host
            address.rootCertificate = root
            return address
        }

        func session(_ address: PostgresAddress) -> PostgresSession {
            PostgresSession(address: address, environment: ["PGPASSWORD": password, "HOME": home])
        }

        /// Whether the server sees this session's connection encrypted, and with what.
        func encryption(_ address: PostgresAddress) throws -> (ssl: Bool, version: String?) {
            let session = session(address)
            defer { session.close() }
            let row = try #require(try session.query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first)
            return try row.decode((Bool, String?).self)
        }

        /// The one-line error connecting with `address` gives.
        func refusal(_ address: PostgresAddress) throws -> String {
            let session = session(address)
            defer { session.close() }
            let error = try #require(throws: QueueError.self) { try session.query("SELECT 1") }
            #expect(error.kind == .runtime)
            #expect(!error.message.contains("\n"), "\(error.message)")
            return error.message
        }

        /// A file in the test's home holding `pem`.
        func file(_ name: String, _ pem: String) throws -> String {
            let path = home + "/" + name
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try pem.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        func serverCertificatePEM() throws -> String { try String(contentsOfFile: serverCertificate, encoding: .utf8) }
    }

    /// A self-signed certificate for localhost and 127.0.0.1 that signed nothing the
    /// test server holds.
    static let unrelatedRoot = """
        -----BEGIN CERTIFICATE-----
        MIIBmjCCAUGgAwIBAgIUKrtcaRG/AebAIpu/yhEw/iYZBrYwCgYIKoZIzj0EAwIw
        FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwMzA2NTYyM1oYDzIxMjYxMTA5
        MDY1NjIzWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
        PQMBBwNCAASn7pXjkdiMgMy0XHgyomXYIGelW6oJ1WIoRxV6jLeNTC1Rm22CXG+g
        I0/tYM+AajA4U9Or6kZFeR1ytHkaPSYko28wbTAdBgNVHQ4EFgQUAwc/QYJXEmeM
        ++o4E+0p10+DrKUwHwYDVR0jBBgwFoAUAwc/QYJXEmeM++o4E+0p10+DrKUwDwYD
        VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
        zj0EAwIDRwAwRAIgVFGVATwd0v/41urUkibD2ZNi6z4gErjHGxtjWQ7nilgCIDu9
        seSUFcQprRRAj8K4qA9EznRbH+2XqRURAYt37Rfd
        -----END CERTIFICATE-----

        """

    @Test func requireAndPreferEncryptDisableDoesNot() throws {
        let fixture = try Fixture()
        let required = try fixture.encryption(fixture.address(.require))
        #expect(required.ssl)
        #expect(required.version?.hasPrefix("TLSv1.") == true)
        #expect(try fixture.encryption(fixture.address(.prefer)).ssl)
        #expect(try fixture.encryption(fixture.address(.disable)).ssl == false)
    }

    @Test func storeRunsOverVerifiedTLS() throws {
        let fixture = try Fixture()
        // Opening the store migrates its schema over this connection.
        let store = try PostgresJobStore(address: fixture.address(.verifyFull, root: fixture.serverCertificate),
                                         environment: ["PGPASSWORD": fixture.password, "HOME": fixture.home])
        defer { store.session.close() }
        #expect(try store.jobs(state: nil, queue: nil, schedule: nil, limit: 10, offset: 0).isEmpty)
        let row = try #require(try store.session.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first)
        #expect(try row.decode(Bool.self))
    }

    @Test func verifyFullChecksTheRootAndTheName() throws {
        let fixture = try Fixture()
        let root = fixture.serverCertificate
        #expect(try fixture.encryption(fixture.address(.verifyFull, host: "127.0.0.1", root: root)).ssl)
        #expect(try fixture.encryption(fixture.address(.verifyFull, host: "localhost", root: root)).ssl)
        // ::1 reaches the same server, and the certificate does not name it.
        guard Self.reachesServer(host: "::1", fixture) else { return }
        let message = try fixture.refusal(fixture.address(.verifyFull, host: "::1", root: root))
        #expect(message.hasPrefix("cannot reach PostgreSQL at [::1]:"))
        #expect(message.hasSuffix("the server's certificate does not name ::1 (sslmode=verify-full)"), "\(message)")
    }

    @Test func verifyCAChecksTheRootNotTheName() throws {
        let fixture = try Fixture()
        #expect(try fixture.encryption(fixture.address(.verifyCA, root: fixture.serverCertificate)).ssl)
        if Self.reachesServer(host: "::1", fixture) {
            #expect(try fixture.encryption(fixture.address(.verifyCA, host: "::1", root: fixture.serverCertificate)).ssl)
        }
        let other = try fixture.file("other.crt", Self.unrelatedRoot)
        let message = try fixture.refusal(fixture.address(.verifyCA, root: other))
        #expect(message.hasSuffix("the server's certificate is not signed by a root in \"\(other)\", or is out of date (sslmode=verify-ca)"), "\(message)")
    }

    @Test func verifyingModesNeedARootFileAsLibpq() throws {
        let fixture = try Fixture()
        let missing = fixture.home + "/.postgresql/root.crt"
        for mode in [PostgresAddress.TLSMode.verifyCA, .verifyFull] {
            let message = try fixture.refusal(fixture.address(mode))
            #expect(message.contains("root certificate file \"\(missing)\" does not exist (sslmode=\(mode.rawValue))"), "\(message)")
        }
        // The default file, once there, is used.
        _ = try fixture.file(".postgresql/root.crt", try fixture.serverCertificatePEM())
        #expect(try fixture.encryption(fixture.address(.verifyFull)).ssl)
        // A named file that is not there, or holds no certificate.
        let named = try fixture.refusal(fixture.address(.verifyFull, root: fixture.home + "/none.crt"))
        #expect(named.contains("root certificate file \"\(fixture.home)/none.crt\" does not exist"), "\(named)")
        let junk = try fixture.file("junk.crt", "not a certificate\n")
        #expect(try fixture.refusal(fixture.address(.verifyFull, root: junk)).contains("cannot read root certificate file \"\(junk)\": not a PEM certificate file"))
    }

    @Test func requireVerifiesOnlyWhenARootFileExists() throws {
        let fixture = try Fixture()
        // No root file: encrypted, unchecked (the server's certificate is self-signed).
        #expect(try fixture.encryption(fixture.address(.require)).ssl)
        // A root file, named or in the default place, makes require check the chain,
        // as libpq's require does.
        let other = try fixture.file("other.crt", Self.unrelatedRoot)
        #expect(try fixture.refusal(fixture.address(.require, root: other)).contains("not signed by a root in \"\(other)\""))
        _ = try fixture.file(".postgresql/root.crt", Self.unrelatedRoot)
        #expect(try fixture.refusal(fixture.address(.require)).hasSuffix("not signed by a root in ~/.postgresql/root.crt, or is out of date (sslmode=require)"))
        _ = try fixture.file(".postgresql/root.crt", try fixture.serverCertificatePEM())
        #expect(try fixture.encryption(fixture.address(.require)).ssl)
        // prefer never checks.
        _ = try fixture.file(".postgresql/root.crt", Self.unrelatedRoot)
        #expect(try fixture.encryption(fixture.address(.prefer)).ssl)
    }

    @Test func systemRootsDoNotTrustASelfSignedServer() throws {
        let fixture = try Fixture()
        let message = try fixture.refusal(fixture.address(.verifyFull, root: PostgresAddress.systemRoots))
        #expect(message.hasSuffix("the server's certificate is not signed by one of the system's trust roots, or is out of date (sslmode=verify-full)"), "\(message)")
    }

    @Test func cliStatusOverVerifiedTLS() throws {
        let fixture = try Fixture()
        let good = fixture.address(.verifyFull, root: fixture.serverCertificate).redacted
        let env = ["PGPASSWORD": fixture.password, "HOME": fixture.home]
        let enqueued = try QueueSandbox.exec(QueueSandbox.binaryPath, ["--db", good, "enqueue", #"{"id":"tls-1","command":"true"}"#],
                                             environment: env)
        #expect(enqueued.status == 0, "\(enqueued)")
        let status = try QueueSandbox.exec(QueueSandbox.binaryPath, ["--db", good, "status", "--json"], environment: env)
        #expect(status.status == 0, "\(status)")
        #expect(status.stdout.contains("\"pending\""), "\(status)")
        let other = try fixture.file("other.crt", Self.unrelatedRoot)
        let bad = fixture.address(.verifyFull, root: other).redacted
        let refused = try QueueSandbox.exec(QueueSandbox.binaryPath, ["--db", bad, "status"], environment: env)
        #expect(refused.status == 1)
        #expect(refused.stdout.isEmpty)
        #expect(refused.stderr == "error: cannot reach PostgreSQL at \(fixture.base.location): the server's certificate is not signed by a root in \"\(other)\", or is out of date (sslmode=verify-full)\n", "\(refused)")
    }

    /// Whether `host` reaches the test server (IPv6 may be off).
    static func reachesServer(host: String, _ fixture: Fixture) -> Bool {
        let session = fixture.session(fixture.address(.require, host: host))
        defer { session.close() }
        return (try? session.query("SELECT 1")) != nil
    }
}

/// What a server without TLS does to each mode; needs no PostgreSQL server.
@Suite struct PostgresNoTLSTests {
    /// A server that answers the TLS request with "no", as PostgreSQL with `ssl = off`
    /// does: every mode from `require` up stops there, in one line.
    @Test func serverWithoutTLSIsOneLineForRequireAndUp() throws {
        let server = try NoTLSServer()
        defer { server.stop() }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("qc-notls-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: home + "/.postgresql", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        try PostgresTLSTests.unrelatedRoot.write(toFile: home + "/.postgresql/root.crt", atomically: true, encoding: .utf8)
        for mode in [PostgresAddress.TLSMode.require, .verifyCA, .verifyFull] {
            let address = PostgresAddress(user: "nobody", host: "127.0.0.1", port: server.port, database: "db", tlsMode: mode)
            let session = PostgresSession(address: address, environment: ["PGPASSWORD": "x", "HOME": home])
            let error = try #require(throws: QueueError.self) { try session.query("SELECT 1") }
            #expect(error.kind == .runtime)
            #expect(error.message == "cannot reach PostgreSQL at 127.0.0.1:\(server.port)/db: the server does not offer TLS (sslmode=\(mode.rawValue))")
        }
    }
}

/// Listens on a loopback port and answers every TLS request with 'N', PostgreSQL's
/// "no TLS here", then waits for the client to hang up.
final class NoTLSServer: @unchecked Sendable {
    let port: Int
    private let socket: Int32

    init() throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard listening else { close(fd); throw TestFailure("cannot listen on loopback: \(errno)") }
        socket = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }
                var request = [UInt8](repeating: 0, count: 8)   // length 8, code 80877103
                if recv(client, &request, 8, Int32(MSG_WAITALL)) == 8 {
                    _ = send(client, [UInt8(ascii: "N")], 1, 0)
                    var rest = [UInt8](repeating: 0, count: 512)
                    _ = recv(client, &rest, 512, 0)
                }
                close(client)
            }
        }
    }

    func stop() {
        shutdown(socket, Int32(SHUT_RDWR))
        close(socket)
    }
}
