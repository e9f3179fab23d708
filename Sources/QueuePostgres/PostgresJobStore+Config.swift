import QueueCore

extension PostgresJobStore {
    public func config() throws -> QueueConfig {
        try Self.loadConfig(session)
    }

    static func loadConfig(_ session: PostgresSession) throws -> QueueConfig {
        var values: [ConfigKey: Double] = [:]
        for row in try session.query("SELECT key, value FROM config") {
            let (name, value) = try row.decode((String, Double?).self)
            if let key = ConfigKey(rawValue: name), let value { values[key] = value }
        }
        return QueueConfig(values: values)
    }

    public func setConfig(_ key: ConfigKey, _ value: Double) throws {
        try session.execute("""
            INSERT INTO config (key, value) VALUES (\(key.rawValue), \(value))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """)
    }

    public func unsetConfig(_ key: ConfigKey) throws {
        try session.execute("DELETE FROM config WHERE key = \(key.rawValue)")
    }
}
