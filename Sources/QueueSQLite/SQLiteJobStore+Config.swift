import QueueCore
import GRDB

extension SQLiteJobStore {
    public func config() throws -> QueueConfig {
        try read { db in try Self.loadConfig(db) }
    }

    static func loadConfig(_ db: Database) throws -> QueueConfig {
        var values: [ConfigKey: Double] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT key, value FROM config")) {
            if let key = ConfigKey(rawValue: row[0]), let value: Double = row[1] { values[key] = value }
        }
        return QueueConfig(values: values)
    }

    public func setConfig(_ key: ConfigKey, _ value: Double) throws {
        try write { db in
            try db.execute(sql: "INSERT INTO config(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [key.rawValue, value])
        }
    }

    public func unsetConfig(_ key: ConfigKey) throws {
        try write { db in try db.execute(sql: "DELETE FROM config WHERE key = ?", arguments: [key.rawValue]) }
    }
}
