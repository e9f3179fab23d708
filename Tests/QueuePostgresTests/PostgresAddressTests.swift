import QueueCore
import Testing
@testable import QueuePostgres

@Suite struct PostgresAddressTests {
    @Test func parsesEveryPart() throws {
        let address = try PostgresAddress(parsing: "postgres://ada@db.example:6543/jobs?sslmode=require&schema=team_a&connect_timeout=3")
        #expect(address.user == "ada")
        #expect(address.host == "db.example")
        #expect(address.port == 6543)
        #expect(address.database == "jobs")
        #expect(address.tlsMode == .require)
        #expect(address.schema == "team_a")
        #expect(address.connectTimeoutSeconds == 3)
        #expect(address.location == "db.example:6543/jobs")
    }

    @Test func defaultsAreLibpqs() throws {
        let address = try PostgresAddress(parsing: "postgresql://ada@db.example/jobs")
        #expect(address.port == 5432)
        #expect(address.tlsMode == .prefer)
        #expect(address.schema == "public")
        let noDatabase = try PostgresAddress(parsing: "postgres://ada@db.example")
        #expect(noDatabase.database == "ada")
        let noHost = try PostgresAddress(parsing: "postgres://ada@/jobs")
        #expect(noHost.host == "localhost")
        let noUser = try PostgresAddress(parsing: "postgres://db.example/jobs")
        #expect(noUser.user == PostgresAddress.loginName())
    }

    @Test func readsIPv6HostsAndPercentEscapes() throws {
        let address = try PostgresAddress(parsing: "postgres://a%40b@[::1]:5433/my%20db")
        #expect(address.user == "a@b")
        #expect(address.host == "::1")
        #expect(address.port == 5433)
        #expect(address.database == "my db")
        #expect(address.location == "[::1]:5433/my db")
    }

    @Test func percentEscapesDecodeAsUTF8AndBadOnesAreRefused() throws {
        #expect(PostgresAddress.percentDecoded("caf%C3%A9%2fx") == "café/x")
        #expect(PostgresAddress.percentDecoded("100%25") == "100%")
        #expect(PostgresAddress.percentDecoded("plain+text") == "plain+text", "'+' is not a space in an address")
        for bad in ["%", "%4", "%zz", "a%4g", "%C3"] {
            #expect(PostgresAddress.percentDecoded(Substring(bad)) == nil, "\(bad)")
        }
        let error = #expect(throws: QueueError.self) { try PostgresAddress(parsing: "postgres://ada@host/db%zz") }
        #expect(error?.message.contains("bad %-escape in the database") == true)
        #expect(try PostgresAddress(parsing: "postgresql://ada@h/j%C3%B6bs").database == "jöbs")
    }

    @Test func unixSocketFolderFromHostParameter() throws {
        let address = try PostgresAddress(parsing: "postgres://ada@/jobs?host=/var/run/postgresql&sslmode=disable")
        #expect(address.socketFolder == "/var/run/postgresql")
        #expect(address.socketPath == "/var/run/postgresql/.s.PGSQL.5432")
        #expect(address.location == "/var/run/postgresql:5432/jobs")
    }

    @Test func passwordInTheAddressIsRefusedWithoutRepeatingIt() throws {
        for text in ["postgres://ada:s3cret@db.example/jobs", "postgres://ada@db.example/jobs?password=s3cret"] {
            let error = try #require(throws: QueueError.self) { try PostgresAddress(parsing: text) }
            #expect(error.kind == .invalidInput)
            #expect(!error.message.contains("s3cret"))
            #expect(error.message.contains("PGPASSWORD"))
            #expect(error.message.contains("~/.pgpass"))
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func badPartsAreOneLineErrors() throws {
        let cases = [
            "postgres://ada@db.example:99999/jobs": "port",
            "postgres://ada@db.example/jobs?sslmode=maybe": "sslmode",
            "postgres://ada@db.example/jobs?schema=1abc": "schema",
            "postgres://ada@db.example/jobs?schema=pg_catalog": "schema",
            "postgres://ada@db.example/jobs?schema=a-b": "schema",
            "postgres://ada@db.example/jobs?colour=blue": "unknown parameter",
            "postgres://ada@db.example/jobs?host=relative": "host=",
            "postgres://ada@[::1/jobs": "IPv6",
            "mysql://ada@db.example/jobs": "not a PostgreSQL address",
        ]
        for (text, word) in cases {
            let error = try #require(throws: QueueError.self, "\(text)") { try PostgresAddress(parsing: text) }
            #expect(error.kind == .invalidInput)
            #expect(error.message.contains(word), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func schemaNamesAreBoundedSoTheWakeChannelFits() throws {
        let longest = String(repeating: "a", count: PostgresAddress.maximumSchemaBytes)
        _ = try PostgresAddress(parsing: "postgres://ada@h/db?schema=\(longest)")
        #expect(throws: QueueError.self) { try PostgresAddress(parsing: "postgres://ada@h/db?schema=\(longest)a") }
        #expect(PostgresSchema.wakeChannel(schema: longest).utf8.count <= 63)
    }

    @Test func redactedSpellsOutTheSettingsAndParsesBack() throws {
        let address = try PostgresAddress(parsing: "postgresql://ada@db.example/jobs?schema=team_a")
        #expect(address.redacted == "postgres://ada@db.example:5432/jobs?sslmode=prefer&schema=team_a")
        #expect(try PostgresAddress(parsing: address.redacted) == address)
        let socket = try PostgresAddress(parsing: "postgres://ada@/jobs?host=/tmp/pg&sslmode=disable")
        #expect(try PostgresAddress(parsing: socket.redacted) == socket)
    }

    @Test func tlsModesAndRootCertificateAsLibpq() throws {
        for mode in PostgresAddress.TLSMode.allCases {
            #expect(try PostgresAddress(parsing: "postgres://ada@h/db?sslmode=\(mode.rawValue)").tlsMode == mode)
        }
        #expect(PostgresAddress.TLSMode.allCases.map(\.rawValue) == ["disable", "prefer", "require", "verify-ca", "verify-full"])
        let named = try PostgresAddress(parsing: "postgres://ada@h/db?sslmode=verify-ca&sslrootcert=/etc/queuectl/ca%20roots.pem")
        #expect(named.tlsMode == .verifyCA)
        #expect(named.rootCertificate == "/etc/queuectl/ca roots.pem")
        #expect(named.redacted == "postgres://ada@h:5432/db?sslmode=verify-ca&sslrootcert=/etc/queuectl/ca%20roots.pem")
        #expect(try PostgresAddress(parsing: named.redacted) == named)
        #expect(try PostgresAddress(parsing: "postgres://ada@h/db").rootCertificate == nil)
        // sslrootcert=system means verify-full (libpq 16), and refuses a weaker mode.
        let system = try PostgresAddress(parsing: "postgres://ada@h/db?sslrootcert=system")
        #expect(system.tlsMode == .verifyFull)
        #expect(system.rootCertificate == PostgresAddress.systemRoots)
        #expect(try PostgresAddress(parsing: system.redacted) == system)
        #expect(try PostgresAddress(parsing: "postgres://ada@h/db?sslmode=verify-full&sslrootcert=system") == system)
        for mode in ["disable", "prefer", "require", "verify-ca"] {
            let error = try #require(throws: QueueError.self) { try PostgresAddress(parsing: "postgres://ada@h/db?sslmode=\(mode)&sslrootcert=system") }
            #expect(error.kind == .invalidInput)
            #expect(error.message.hasSuffix("sslrootcert=system needs sslmode=verify-full (a weaker mode would not check the server's name)"))
        }
        let relative = try #require(throws: QueueError.self) { try PostgresAddress(parsing: "postgres://ada@h/db?sslmode=verify-full&sslrootcert=ca.pem") }
        #expect(relative.message.hasSuffix("sslrootcert takes the absolute path of a PEM file of root certificates, or 'system'"))
        // Over a Unix socket there is no TLS.
        for mode in ["require", "verify-ca", "verify-full"] {
            let error = try #require(throws: QueueError.self) { try PostgresAddress(parsing: "postgres://ada@/db?host=/tmp&sslmode=\(mode)") }
            #expect(error.message.hasSuffix("sslmode=\(mode) cannot be used over a Unix socket"))
        }
        let unknown = try #require(throws: QueueError.self) { try PostgresAddress(parsing: "postgres://ada@h/db?sslmode=allow") }
        #expect(unknown.message.hasSuffix("sslmode must be one of disable, prefer, require, verify-ca, verify-full"))
    }

    @Test func recognisesAddressesByScheme() {
        #expect(PostgresAddress.isPostgresAddress("postgres://h/db"))
        #expect(PostgresAddress.isPostgresAddress("PostgreSQL://h/db"))
        #expect(!PostgresAddress.isPostgresAddress("/var/lib/queue.db"))
        #expect(!PostgresAddress.isPostgresAddress("postgres.db"))
    }
}
