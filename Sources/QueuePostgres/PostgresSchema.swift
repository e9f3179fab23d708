import PostgresNIO
import QueueCore

/// The PostgreSQL schema of a queue, as numbered migrations applied in order
/// (never edit a shipped one; add a new one).
///
/// Migrations run inside one transaction that first takes a transaction-level
/// advisory lock on (``lockKey``, hash of the schema name): when many hosts start
/// at once, one applies the missing migrations and the others wait for its commit,
/// then find nothing left to do. Each applied migration is a row of
/// `queuectl_migrations(version, name, applied_at)`. A start with the schema up to
/// date costs one query and takes no lock.
///
/// Every table lives in the address's schema (`public` by default), which every
/// connection puts on its `search_path`; functions and triggers name the schema
/// explicitly, so they work from any session.
public enum PostgresSchema {
    /// The first key of the migration lock (`pg_advisory_xact_lock(key, hashtext(schema))`):
    /// "queu" in ASCII. Other programs sharing the database must not use it.
    public static let lockKey: Int32 = 0x7175_6575

    /// Counts and run totals are spread over this many rows per group, chosen by
    /// the writing connection's server process (`pg_backend_pid() % shards`), so
    /// workers on different connections do not queue for one counter row.
    public static let countShards = 16

    /// A numbered migration: its SQL statements for a schema name.
    struct Migration: Sendable {
        var version: Int
        var name: String
        var statements: @Sendable (_ schema: String) -> [String]
    }

    /// The newest schema version this build knows.
    public static var latestVersion: Int { migrations.last!.version }

    /// The `LISTEN`/`NOTIFY` channel that says jobs became claimable in `schema`.
    /// (Channels are per database, so the schema is part of the name.)
    public static func wakeChannel(schema: String) -> String { "queuectl_wake_\(schema)" }

    /// The schema's version: 0 when it has no queue yet.
    public static func version(_ session: PostgresSession) throws -> Int {
        do {
            let rows = try session.query("SELECT coalesce(max(version), 0) FROM \(unescaped: session.address.quotedSchema).queuectl_migrations")
            return try rows.first?.decode(Int.self) ?? 0
        } catch let error as PostgresQueryError where error.sqlState == "42P01" || error.sqlState == "3F000" {
            return 0   // no such table (or schema): nothing applied yet
        }
    }

    /// Applies the migrations the schema lacks (creating the schema if needed) and
    /// returns the versions this call applied: empty when another host had applied
    /// them, or nothing was missing. `knownVersion`: the version the caller has just
    /// read with ``version(_:)`` (one query less per command).
    @discardableResult
    public static func migrate(_ session: PostgresSession, knownVersion: Int? = nil) throws -> [Int] {
        let current = try knownVersion ?? version(session)
        try refuseNewer(current, session.address)
        if current == latestVersion { return [] }
        let schema = session.address.schema
        let quoted = session.address.quotedSchema
        return try session.transaction {
            try session.execute("SELECT pg_advisory_xact_lock(\(lockKey), hashtext(\(schema)))")
            try session.execute("CREATE SCHEMA IF NOT EXISTS \(unescaped: quoted)")
            try session.execute("""
                CREATE TABLE IF NOT EXISTS \(unescaped: quoted).queuectl_migrations (
                    version     INTEGER PRIMARY KEY,
                    name        TEXT NOT NULL,
                    applied_at  BIGINT NOT NULL
                )
                """)
            let applied = Set(try session.query("SELECT version FROM \(unescaped: quoted).queuectl_migrations")
                .map { try $0.decode(Int.self) })
            try refuseNewer(applied.max() ?? 0, session.address)
            var done: [Int] = []
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements(schema) {
                    try session.execute(PostgresQuery(unsafeSQL: statement))
                }
                try session.execute("""
                    INSERT INTO \(unescaped: quoted).queuectl_migrations (version, name, applied_at)
                    VALUES (\(migration.version), \(migration.name), \(unescaped: quoted).queuectl_now_ms())
                    """)
                done.append(migration.version)
            }
            return done
        }
    }

    /// Drops the address's schema and everything in it: every job, run and
    /// setting of that queue. (Tests drop their own schema this way.)
    public static func drop(_ session: PostgresSession) throws {
        try session.execute("DROP SCHEMA IF EXISTS \(unescaped: session.address.quotedSchema) CASCADE")
    }

    private static func refuseNewer(_ version: Int, _ address: PostgresAddress) throws {
        if version > latestVersion {
            throw QueueError.runtime("""
                the queue at \(address.location) (schema \(address.schema)) has schema version \(version), \
                newer than this queuectl knows (\(latestVersion)); upgrade queuectl
                """)
        }
    }

    static let migrations: [Migration] = [
        Migration(version: 1, name: "v1-queue", statements: version1),
        Migration(version: 2, name: "v2-change-count", statements: version2),
        Migration(version: 3, name: "v3-statement-totals", statements: version3),
        Migration(version: 4, name: "v4-settle-function", statements: version4),
        Migration(version: 5, name: "v5-indexed-lookups", statements: version5),
    ]
}
