import QueueCore

extension PostgresJobStore {
    public func config() throws -> QueueConfig {
        try Self.loadConfig(session)
    }

    /// The config from the two arrays a statement reads it as (``configArraysSQL``),
    /// so a statement that needs it costs no query of its own.
    static func config(keys: [String], values: [Double]) -> QueueConfig {
        var settings: [ConfigKey: Double] = [:]
        for (key, value) in zip(keys, values) { if let key = ConfigKey(rawValue: key) { settings[key] = value } }
        return QueueConfig(values: settings)
    }

    /// The config's set keys and their values as two arrays in key order, for
    /// ``config(keys:values:)``: the select-list text for schema `s`.
    static func configArraysSQL(_ s: String) -> String {
        """
        ARRAY(SELECT key FROM \(s).config WHERE value IS NOT NULL ORDER BY key),
            ARRAY(SELECT value FROM \(s).config WHERE value IS NOT NULL ORDER BY key)
        """
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
