import Foundation

/// Where the queue's files live: the database and, beside it, the run logs
/// (`<db>-logs/`) and the doorbell file workers watch (`<db>-bell`).
public struct DatabaseLocation: Sendable, Equatable {
    public var databasePath: String

    public init(path: String) {
        self.databasePath = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// `--db`, else `$QUEUECTL_DB`, else `$XDG_DATA_HOME/queuectl/queue.db`,
    /// else `~/.local/share/queuectl/queue.db`.
    public static func resolve(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> DatabaseLocation {
        if let explicit, !explicit.isEmpty { return DatabaseLocation(path: explicit) }
        if let env = environment["QUEUECTL_DB"], !env.isEmpty { return DatabaseLocation(path: env) }
        let dataHome: String
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            dataHome = xdg
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            dataHome = home + "/.local/share"
        }
        return DatabaseLocation(path: dataHome + "/queuectl/queue.db")
    }

    public var directory: String { (databasePath as NSString).deletingLastPathComponent }
    public var logsDirectory: String { databasePath + "-logs" }
    public var bellPath: String { databasePath + "-bell" }
    /// Where background workers write their own log lines.
    public var workerLogPath: String { logsDirectory + "/workers.log" }

    /// Captured output of one run (by the run's id in the history, since attempt
    /// numbers restart after `dlq retry`).
    public func runLogPath(jobID: String, runID: Int64) -> String {
        "\(logsDirectory)/\(jobID).\(runID).log"
    }

    /// Creates the database folder (0700) and the logs folder (0700) if missing.
    public func prepareDirectories() throws {
        for dir in [directory, logsDirectory] {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
                guard isDir.boolValue else { throw QueueError.runtime("\(dir) exists and is not a directory") }
                continue
            }
            if mkdir(dir, 0o700) != 0 && errno != EEXIST {
                // Create parents too (e.g. a fresh ~/.local/share).
                do {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                } catch {
                    throw QueueError.runtime("cannot create \(dir): \(String(cString: strerror(errno)))")
                }
            }
        }
    }
}
